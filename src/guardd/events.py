"""What the API tells the SLO and breaker subsystems: upstream outcomes and output verdicts.

The failure taxonomy lives here because both consumers must agree on it.
Hard failures come from ``ReportOutcome`` (the provider's status); soft ones
from the findings of OUTPUT validations. Neither consumer talks to the other:
the API publishes each event to every ``EventSink``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

HardCategory = Literal[
    "rate_limit", "timeout", "server_error", "auth_error", "context_overflow", "network", "client_error"
]
SoftCategory = Literal["hallucination", "refusal", "format_violation", "blocked_output"]
Category = Literal["ok"] | HardCategory | SoftCategory

HARD: frozenset[HardCategory] = frozenset(
    {"rate_limit", "timeout", "server_error", "auth_error", "context_overflow", "network", "client_error"}
)
SOFT: frozenset[SoftCategory] = frozenset({"hallucination", "refusal", "format_violation", "blocked_output"})

# Finding categories of OUTPUT guardrails → the soft failure they stand for.
_SOFT_BY_FINDING: dict[str, SoftCategory] = {
    "hallucination": "hallucination",
    "refusal": "refusal",
    "schema": "format_violation",
}
_ERROR_TYPES: dict[str, HardCategory] = {
    "timeout": "timeout",
    "deadline_exceeded": "timeout",
    "network": "network",
    "connection_error": "network",
    "context_overflow": "context_overflow",
    "context_length_exceeded": "context_overflow",
    "rate_limit": "rate_limit",
    # Each hard category's own name, so a client can say exactly what it saw.
    "server_error": "server_error",
    "auth_error": "auth_error",
    "client_error": "client_error",
}
KNOWN_ERROR_TYPES = frozenset(_ERROR_TYPES)
"""The ``error_type`` values ``classify_outcome`` understands (compared case-insensitively)."""


def classify_outcome(status_code: int, error_type: str) -> Literal["ok"] | HardCategory:
    """The failure category of one upstream call, from its HTTP status and optional error type."""
    named = _ERROR_TYPES.get(error_type.strip().lower())
    if named is not None:
        return named
    return _by_status(status_code)


def _by_status(status: int) -> Literal["ok"] | HardCategory:  # noqa: PLR0911 - one line per HTTP class
    if status == 0:
        return "network"
    if status == 429:  # noqa: PLR2004
        return "rate_limit"
    if status in {408, 504}:
        return "timeout"
    if status in {401, 403}:
        return "auth_error"
    if status == 413:  # noqa: PLR2004 - providers answer 413 (or 400 + error_type) for too many tokens
        return "context_overflow"
    if status >= 500:  # noqa: PLR2004
        return "server_error"
    if status >= 400:  # noqa: PLR2004
        return "client_error"
    return "ok"


def soft_failures(finding_categories: Iterable[str], *, blocked: bool) -> frozenset[SoftCategory]:
    """The soft failures an OUTPUT verdict stands for."""
    found = {_SOFT_BY_FINDING[c] for c in finding_categories if c in _SOFT_BY_FINDING}
    if blocked:
        found.add("blocked_output")
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class UpstreamOutcome:
    """One upstream LLM call as the service reported it (``ReportOutcome``)."""

    request_id: str
    upstream: str
    policy: str
    category: Literal["ok"] | HardCategory
    latency_ms: float
    ttft_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class OutputVerdict:
    """One OUTPUT validation's verdict, reduced to what SLOs and breakers count."""

    request_id: str
    upstream: str
    policy: str
    failures: frozenset[SoftCategory]


class EventSink(Protocol):
    """A consumer of outcomes and output verdicts (the SLO tracker, the breakers).

    Called on the event loop for every event: must be O(1) and never block.
    """

    def on_outcome(self, outcome: UpstreamOutcome) -> None: ...

    def on_output(self, verdict: OutputVerdict) -> None: ...


class Fanout:
    """Delivers every event to each sink in turn."""

    def __init__(self, sinks: Iterable[EventSink] = ()) -> None:
        self._sinks = tuple(sinks)

    def on_outcome(self, outcome: UpstreamOutcome) -> None:
        for sink in self._sinks:
            sink.on_outcome(outcome)

    def on_output(self, verdict: OutputVerdict) -> None:
        for sink in self._sinks:
            sink.on_output(verdict)
