"""Payer portal adapters, one module per payer (see the README, "Adding a payer")."""
