"""guardd: a guardrail and semantic-SLO sidecar for LLM traffic."""

__version__ = "0.1.0"
