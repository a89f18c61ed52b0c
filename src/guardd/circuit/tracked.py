"""One upstream's breaker as this replica holds it: shared state, local window, probe permits."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from google.protobuf.timestamp_pb2 import Timestamp

from guardd.circuit.config import BreakerConfig
from guardd.circuit.machine import SharedState, State, rates
from guardd.circuit.window import CountWindow, Tally, TimeWindow, Window
from guardd.clock import Clock
from guardd.v1 import guard_pb2 as pb

PB_STATE: dict[State, pb.CircuitState] = {
    "closed": pb.CIRCUIT_STATE_CLOSED,
    "open": pb.CIRCUIT_STATE_OPEN,
    "half_open": pb.CIRCUIT_STATE_HALF_OPEN,
    "forced_open": pb.CIRCUIT_STATE_FORCED_OPEN,
    "disabled": pb.CIRCUIT_STATE_DISABLED,
}


def new_window(config: BreakerConfig, clock: Clock) -> Window:
    """The sliding window ``config`` asks for."""
    if config.window_type == "time":
        return TimeWindow(config.window, clock)
    return CountWindow(config.window)


@dataclass(eq=False)
class Tracked:
    """Local bookkeeping of one upstream; only the engine mutates it, on the event loop."""

    name: str
    config: BreakerConfig
    window: Window
    shared: SharedState = field(default_factory=SharedState)
    others: Tally = field(default_factory=Tally)
    """The fleet's window minus this replica's, as of the last exchange: a hint for when to ask the store."""
    busy: bool = False
    """A trip or half-open attempt is in flight; one at a time per upstream."""
    next_try: float = 0.0
    open_deadline: float = 0.0
    """Local monotonic time at which to ask the store whether the OPEN is over (the store decides)."""
    permits: deque[float] = field(default_factory=deque)
    """Expiry times of probe permits this replica claimed and has not handed out."""
    seen: bool = False
    """Callers used this upstream through this replica; only such replicas claim probes before being asked."""
    claiming: bool = False
    next_claim: float = 0.0
    _cache: pb.Circuit | None = None

    @property
    def effective(self) -> SharedState:
        """The shared state, unless the policy forces one (policy overrides apply on every replica alike)."""
        if self.config.override == "none":
            return self.shared
        forced: State = "forced_open" if self.config.override == "forced_open" else "disabled"
        return SharedState(forced, self.shared.generation, "set by policy", "policy", self.shared.changed_at_ms)

    def message(self, *, store_ok: bool) -> pb.Circuit:
        """The ``Circuit`` message (cached until the state or the window changes)."""
        if self._cache is None:
            self._cache = self._build(store_ok=store_ok)
        return self._cache

    def invalidate(self) -> None:
        self._cache = None

    def _build(self, *, store_ok: bool) -> pb.Circuit:
        state = self.effective
        reason = state.reason if store_ok else f"{state.reason}; circuit store unreachable (on_store_down: fail_closed)"
        changed = Timestamp()
        changed.FromMilliseconds(state.changed_at_ms)
        return pb.Circuit(
            upstream=self.name,
            state=PB_STATE[state.state],
            allow_request=state.allows and store_ok,
            generation=state.generation,
            reason=reason.strip("; "),
            failure_rates=rates(self.window.tally, self.config),
            changed_at=changed,
        )

    def take_permit(self, now: float) -> bool:
        """Hand out one claimed probe permit, dropping those whose claim has lapsed."""
        while self.permits and self.permits[0] <= now:
            self.permits.popleft()
        if not self.permits:
            return False
        self.permits.popleft()
        return True
