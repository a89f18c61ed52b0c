"""The breakers' Prometheus metrics, registered on the registry the app owns.

``upstream`` comes from requests, so its values are bounded by
``circuits.max_upstreams``: an upstream past the cap is not tracked and gets
no label set (``guardd_circuit_untracked_total`` counts those requests).
``reason`` is one of a fixed set of kinds; the free-text reason stays on the
``Circuit`` message.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from guardd.circuit.machine import STATES, SharedState

# Loopback pub/sub is sub-millisecond; reconcile-only is up to its interval (~1 s).
DELAY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0)
# The transitions a breaker makes on its own, created at 0 for every tracked upstream.
_USUAL = (
    ("closed", "open", "failure_rate"),
    ("open", "half_open", "open_elapsed"),
    ("half_open", "closed", "probes_passed"),
    ("half_open", "open", "probes_failed"),
)


class CircuitMetrics:
    """Every metric the circuit subsystem exports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.state = Gauge(
            "guardd_circuit_state",
            "1 for the state each tracked upstream's breaker is in, 0 for the others.",
            ["upstream", "state"],
            registry=registry,
        )
        self.transitions = Counter(
            "guardd_circuit_transitions",
            "Breaker state changes this replica applied, whoever made them.",
            ["upstream", "from", "to", "reason"],
            registry=registry,
        )
        self.propagation = Histogram(
            "guardd_circuit_propagation_delay_seconds",
            "From a change's store time to this replica applying it (wall clocks: loopback-exact, NTP-bound across hosts).",
            ["via"],
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.store_up = Gauge("guardd_circuit_store_up", "1 while the circuit store is reachable.", registry=registry)
        self.untracked = Counter(
            "guardd_circuit_untracked",
            "Events and lookups for upstreams past circuits.max_upstreams, which get no breaker.",
            registry=registry,
        )
        for via in ("pubsub", "reconcile"):
            self.propagation.labels(via)
        self.store_up.set(1)

    def track(self, upstream: str, state: SharedState) -> None:
        """Create an upstream's label sets at 0 and show its state."""
        for source, target, reason in _USUAL:
            self.transitions.labels(upstream, source, target, reason)
        self.show(upstream, state.state)

    def show(self, upstream: str, current: str) -> None:
        for state in STATES:
            self.state.labels(upstream, state).set(1 if state == current else 0)

    def transition(self, upstream: str, old: SharedState, new: SharedState) -> None:
        if old.state != new.state:
            self.transitions.labels(upstream, old.state, new.state, new.kind).inc()
        self.show(upstream, new.state)

    def delay(self, via: str, seconds: float) -> None:
        self.propagation.labels(via).observe(max(0.0, seconds))
