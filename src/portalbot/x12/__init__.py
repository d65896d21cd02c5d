"""X12 in: 835 remittances, 277CA and 277 claim statuses, and 837P claims, read with pyx12."""
