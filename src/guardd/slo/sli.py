"""Which events each SLI counts, and which of them are good.

A judge returns None for an event its SLI does not count. Outcome-based SLIs
see ``ReportOutcome``; verdict-based ones see OUTPUT validations; goodput
needs both halves and is judged by the ``Joiner``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from guardd.events import HardCategory, OutputVerdict, UpstreamOutcome
from guardd.slo.spec import SLIKind, SLOSpec

OutcomeJudge = Callable[[SLOSpec, UpstreamOutcome], bool | None]
VerdictJudge = Callable[[SLOSpec, OutputVerdict], bool | None]

CALLER_ERRORS: frozenset[HardCategory] = frozenset({"client_error", "context_overflow"})
"""Failures of the caller's request, not of the upstream: outside availability's events."""


def _availability(_slo: SLOSpec, outcome: UpstreamOutcome) -> bool | None:
    if outcome.category in CALLER_ERRORS:
        return None
    return outcome.category == "ok"


def _latency(slo: SLOSpec, outcome: UpstreamOutcome) -> bool | None:
    # Only successful calls: a failure's latency says how fast it failed, which no user wants.
    if outcome.category != "ok" or slo.threshold_ms is None:
        return None
    return outcome.latency_ms <= slo.threshold_ms


def _ttft(slo: SLOSpec, outcome: UpstreamOutcome) -> bool | None:
    # ttft_ms 0 means the call was not streamed (or not measured): not an event.
    if outcome.category != "ok" or outcome.ttft_ms <= 0 or slo.threshold_ms is None:
        return None
    return outcome.ttft_ms <= slo.threshold_ms


def _free_of(category: str) -> VerdictJudge:
    def judge(_slo: SLOSpec, verdict: OutputVerdict) -> bool | None:
        return category not in verdict.failures

    return judge


OUTCOME_JUDGES: Mapping[SLIKind, OutcomeJudge] = MappingProxyType(
    {"availability": _availability, "latency": _latency, "ttft": _ttft}
)
VERDICT_JUDGES: Mapping[SLIKind, VerdictJudge] = MappingProxyType(
    {
        "hallucination_free": _free_of("hallucination"),
        "refusal_free": _free_of("refusal"),
        "format_ok": _free_of("format_violation"),
    }
)


def outcome_is_good(outcome: UpstreamOutcome) -> bool:
    """What an outcome alone says about goodput."""
    return outcome.category == "ok"


def verdict_is_good(verdict: OutputVerdict) -> bool:
    """What a verdict alone says about goodput: any soft failure makes the response useless."""
    return not verdict.failures
