"""The SLO subsystem's Prometheus metrics besides ``guardd_sli_events_total`` (see ``series``).

Counters and histograms, not in-process ratios, so recording rules can sum
them across replicas (Sloth/Pyrra practice). Label values: ``slo`` and ``policy`` come
from the policy file; ``upstream`` comes from requests and is capped by
``UpstreamLabels``. Histogram buckets include every latency and TTFT
threshold the policy names, so a threshold's share is exact, not interpolated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from guardd.slo.join import Half, Reason
from guardd.slo.spec import SLOSpec

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
HALVES: tuple[Half, ...] = ("outcome", "verdict")
REASONS: tuple[Reason, ...] = ("expired", "evicted")


def buckets_for(slos: Iterable[SLOSpec], sli: str) -> tuple[float, ...]:
    """The default buckets plus every ``sli`` threshold, in seconds."""
    thresholds = {s.threshold_ms / 1000 for s in slos if s.sli == sli and s.threshold_ms is not None}
    return tuple(sorted(set(LATENCY_BUCKETS_S) | thresholds))


@dataclass(frozen=True, slots=True)
class UpstreamChildren:
    """The labelled children of one (policy, upstream), cached: ``labels()`` costs more than ``inc()``."""

    cost: Counter
    latency: Histogram
    ttft: Histogram


class SLOMetrics:
    """Every SLO metric, on a registry the caller owns."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.cost = Counter(
            "guardd_upstream_cost_usd",
            "Upstream cost reported by ReportOutcome.",
            ["policy", "upstream"],
            registry=registry,
        )
        self.unpaired = Counter(
            "guardd_slo_unjoined",
            "Outcomes or verdicts whose other half never arrived (expired) or was pushed out (evicted); counted alone.",
            ["half", "reason"],
            registry=registry,
        )
        self.overflow = Counter(
            "guardd_slo_upstream_overflow",
            "Events whose upstream was counted as 'other' because slo_settings.max_upstreams was reached.",
            registry=registry,
        )
        for half in HALVES:
            for reason in REASONS:
                self.unpaired.labels(half, reason)
        self._buckets: dict[str, tuple[float, ...]] = {}
        self._children: dict[tuple[str, str], UpstreamChildren] = {}
        self.latency = self._histogram("latency", LATENCY_BUCKETS_S)
        self.ttft = self._histogram("ttft", LATENCY_BUCKETS_S)

    def children(self, policy: str, upstream: str) -> UpstreamChildren:
        """Bounded like the series: policies x capped upstream labels."""
        children = self._children.get((policy, upstream))
        if children is None:
            children = self._children[(policy, upstream)] = UpstreamChildren(
                self.cost.labels(policy, upstream),
                self.latency.labels(policy, upstream),
                self.ttft.labels(policy, upstream),
            )
        return children

    def count_unpaired(self, half: Half, reason: Reason) -> None:
        self.unpaired.labels(half, reason).inc()

    def install(self, slos: Iterable[SLOSpec]) -> None:
        """Make the histograms' buckets hold every threshold; a changed set restarts them (rate() copes)."""
        slos = tuple(slos)
        latency, ttft = buckets_for(slos, "latency"), buckets_for(slos, "ttft")
        if latency != self._buckets["latency"]:
            self.registry.unregister(self.latency)
            self.latency = self._histogram("latency", latency)
        if ttft != self._buckets["ttft"]:
            self.registry.unregister(self.ttft)
            self.ttft = self._histogram("ttft", ttft)
        self._children.clear()

    def _histogram(self, sli: str, buckets: tuple[float, ...]) -> Histogram:
        self._buckets[sli] = buckets
        what = "total latency" if sli == "latency" else "time to first token"
        return Histogram(
            f"guardd_upstream_{sli}_seconds",
            f"Upstream {what} of successful calls, as ReportOutcome reported it.",
            ["policy", "upstream"],
            buckets=buckets,
            registry=self.registry,
        )
