"""Text utilities shared by guardrails: normalisation and per-request features."""
