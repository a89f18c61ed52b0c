"""Runs a policy stage's guardrails and turns their results into a verdict."""
