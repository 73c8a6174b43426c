"""CPE: the continuing-education platform for accounting professionals."""
