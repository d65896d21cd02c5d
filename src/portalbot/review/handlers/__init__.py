"""The desk's request handlers, one module per page group; ``review.app`` routes to them."""
