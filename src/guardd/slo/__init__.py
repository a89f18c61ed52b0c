"""Semantic SLOs: SLIs from upstream outcomes and output verdicts, rolling windows, burn rates, rules."""
