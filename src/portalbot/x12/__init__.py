"""X12 in: 835 remittances, 277CA / 277 acknowledgments and 837P claims, read with pyx12."""
