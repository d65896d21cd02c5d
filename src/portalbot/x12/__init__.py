"""X12 in: 835 remittances, 277CA acknowledgments and 837P claims, read with pyx12."""
