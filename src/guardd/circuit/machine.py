"""The breaker's states and decisions, as pure functions of tallies and config.

Stores only move ``SharedState`` between replicas; everything here decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from guardd.circuit.config import BreakerConfig
from guardd.circuit.window import Sample, Tally, stream_of
from guardd.events import HARD, SOFT

State = Literal["closed", "open", "half_open", "forced_open", "disabled"]
STATES: tuple[State, ...] = ("closed", "open", "half_open", "forced_open", "disabled")
# On a conflict at one generation the higher rank wins: OPEN beats CLOSED, so a trip is never lost.
_RANK: dict[State, int] = {"closed": 0, "disabled": 1, "half_open": 2, "open": 3, "forced_open": 4}
# The bounded reasons used as a metric label; the circuit's free-text reason says more.
Reason = Literal["start", "failure_rate", "open_elapsed", "probes_passed", "probes_failed", "override", "policy"]


@dataclass(frozen=True, slots=True)
class SharedState:
    """What every replica agrees on for one upstream; ``generation`` orders versions."""

    state: State = "closed"
    generation: int = 0
    reason: str = ""
    kind: Reason = "start"
    changed_at_ms: int = 0
    """Store time of the change (Redis TIME, not a replica's clock)."""
    open_ms: int = 0
    """How long the current or last OPEN lasts; grows with backoff on repeated opens."""

    @property
    def allows(self) -> bool:
        """Whether a caller may call the upstream (HALF_OPEN: only with a probe permit)."""
        return self.state in {"closed", "disabled"}

    def successor(self, state: State, kind: Reason, reason: str, open_ms: int = 0) -> SharedState:
        return replace(
            self, state=state, generation=self.generation + 1, kind=kind, reason=reason, open_ms=open_ms or self.open_ms
        )


def wins(new: SharedState, old: SharedState) -> bool:
    """Whether ``new`` replaces ``old``: a newer generation, or at the same one, a more restrictive state."""
    if new.generation != old.generation:
        return new.generation > old.generation
    return _RANK[new.state] > _RANK[old.state]


def sample_of_outcome(category: str, latency_ms: float, config: BreakerConfig) -> Sample:
    """The window sample of one reported upstream call."""
    keys: set[str] = set()
    if category in HARD:
        keys |= {"hard", category}
    if config.slow_call_ms is not None and latency_ms >= config.slow_call_ms:
        keys.add("slow")
    return Sample("outcome", frozenset(keys))


def sample_of_output(failures: frozenset[str]) -> Sample:
    """The window sample of one OUTPUT verdict."""
    keys = set(failures) & set(SOFT)
    return Sample("output", frozenset(keys | {"soft"}) if keys else frozenset())


def _limits(config: BreakerConfig) -> dict[str, float]:
    limits = dict(config.thresholds)
    if config.slow_call_ms is not None:
        limits["slow"] = config.slow_call_rate
    return limits


def breach(tally: Tally, config: BreakerConfig, min_calls: int) -> str | None:
    """The first threshold ``tally`` is at or over, with at least ``min_calls`` calls in its stream."""
    for key, limit in sorted(_limits(config).items()):
        if tally.calls(stream_of(key)) >= min_calls and tally.rate(key) >= limit:
            return f"{key} rate {tally.rate(key):.2f} >= {limit:g} over {tally.calls(stream_of(key))} calls"
    return None


def should_open(tally: Tally, config: BreakerConfig) -> str | None:
    """CLOSED → OPEN: the reason, when the window has ``min_calls`` and a rate is over its threshold."""
    return breach(tally, config, config.min_calls)


def probe_verdict(tally: Tally, config: BreakerConfig) -> tuple[Literal["open", "close"], str] | None:
    """HALF_OPEN's decision once ``half_open_calls`` probe outcomes are in; None while waiting."""
    done = max(tally.calls("outcome"), tally.calls("output"))
    if done < config.half_open_calls:
        return None
    reason = breach(tally, config, 1)
    if reason is not None:
        return "open", f"probes failed: {reason}"
    return "close", f"{done} probes passed"


def reopen_ms(current: SharedState, config: BreakerConfig) -> int:
    """OPEN duration after a failed half-open: ``open_for`` grown by ``backoff``, capped at ``max_open_for``."""
    base = current.open_ms or int(config.open_for * 1000)
    return int(min(base * config.backoff, config.max_open_for * 1000))


def rates(tally: Tally, config: BreakerConfig) -> dict[str, float]:
    """The failure rates a circuit reports: one per configured threshold."""
    return tally.rates(_limits(config))
