"""The decision log: one hash-chained JSON line per Validate, written off the hot path."""
