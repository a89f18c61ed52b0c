"""Where breaker state is shared: the ``Store`` protocol and the in-process ``MemoryStore``.

A store moves ``SharedState`` and tallies; it decides nothing. Every write is a
compare-and-set on the generation, so two replicas deciding at once produce
one transition, never two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from guardd.circuit.machine import SharedState
from guardd.circuit.window import Sample, Tally
from guardd.clock import Clock

Via = Literal["local", "pubsub", "reconcile"]
ANY_GENERATION = -1


@dataclass(frozen=True, slots=True)
class CasResult:
    """A compare-and-set's outcome: the state now stored, or why nothing was written."""

    state: SharedState | None
    wait_ms: int = 0
    """For a refused OPEN → HALF_OPEN: how long the store says the OPEN still lasts."""


class Listener(Protocol):
    """Who a store tells about states it learns from elsewhere (pub/sub, reconnects)."""

    def apply(self, upstream: str, state: SharedState, via: Via) -> None: ...

    def store_up(self, *, up: bool) -> None: ...


class Store(Protocol):
    """Shared breaker state for a fleet (``redis``) or one process (``memory``)."""

    @property
    def up(self) -> bool: ...

    async def start(self, listener: Listener) -> None: ...

    async def close(self) -> None: ...

    async def load(self, upstreams: Iterable[str]) -> dict[str, SharedState]:
        """The stored state of ``upstreams`` and of every other upstream the store knows."""
        ...

    async def cas(self, upstream: str, expected: int, new: SharedState, *, after_open: bool = False) -> CasResult:
        """Write ``new`` as generation ``expected + 1`` if the stored generation is ``expected``.

        ``expected = ANY_GENERATION`` writes unconditionally (operator overrides). ``after_open`` also
        requires the stored OPEN to have expired (by the store's own clock or TTL).
        """
        ...

    async def fleet_tally(self, upstream: str, generation: int, mine: Tally) -> Tally:
        """Publish this replica's window and return the fleet's (every live replica's, this generation's)."""
        ...

    async def add_probe(self, upstream: str, generation: int, sample: Sample) -> Tally:
        """Count one half-open outcome fleet-wide; returns the half-open tally so far."""
        ...

    async def claim_probe(self, upstream: str, generation: int, slots: int, ttl_ms: int) -> bool:
        """Claim one of ``slots`` half-open probe permits; each slot has a single winner fleet-wide."""
        ...


class MemoryStore:
    """The embedded store: one process is the whole fleet. Also Redis's fallback while it is down."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[str, SharedState] = {}
        self._open_until: dict[str, float] = {}
        self._probes: dict[tuple[str, int], Tally] = {}
        self._slots: dict[tuple[str, int, int], float] = {}
        self.dirty: set[str] = set()
        """Upstreams written here; the Redis store re-syncs them after an outage."""

    @property
    def up(self) -> bool:
        return True

    async def start(self, listener: Listener) -> None:
        del listener  # nothing else writes here

    async def close(self) -> None:
        return None

    def seed(self, states: Mapping[str, SharedState]) -> None:
        """Start from states learnt elsewhere (the last Redis view), so generations continue."""
        for upstream, state in states.items():
            if upstream not in self.dirty:
                self._states[upstream] = state
                if state.state == "open":
                    self._open_until.setdefault(upstream, self._clock.monotonic() + state.open_ms / 1000)

    def stored(self, upstream: str) -> SharedState | None:
        return self._states.get(upstream)

    async def load(self, upstreams: Iterable[str]) -> dict[str, SharedState]:
        del upstreams
        return dict(self._states)

    async def cas(self, upstream: str, expected: int, new: SharedState, *, after_open: bool = False) -> CasResult:
        current = self._states.get(upstream, SharedState())
        if expected not in {ANY_GENERATION, current.generation}:
            return CasResult(None)
        if after_open:
            left = self._open_until.get(upstream, 0.0) - self._clock.monotonic()
            if current.state != "open" or left > 0:
                return CasResult(None, max(0, int(left * 1000)))
        stored = replace(new, generation=current.generation + 1, changed_at_ms=int(self._clock.wall() * 1000))
        self._states[upstream] = stored
        self.dirty.add(upstream)
        self._forget(upstream, current.generation)
        if stored.state == "open":
            self._open_until[upstream] = self._clock.monotonic() + stored.open_ms / 1000
        return CasResult(stored)

    def _forget(self, upstream: str, generation: int) -> None:
        """Drop the probe bookkeeping of a generation that is over (Redis lets it expire instead)."""
        self._probes.pop((upstream, generation), None)
        for key in [k for k in self._slots if k[0] == upstream and k[1] <= generation]:
            del self._slots[key]

    async def fleet_tally(self, upstream: str, generation: int, mine: Tally) -> Tally:
        del upstream, generation
        return mine

    async def add_probe(self, upstream: str, generation: int, sample: Sample) -> Tally:
        tally = self._probes.setdefault((upstream, generation), Tally())
        tally.add(sample)
        return Tally(dict(tally.counts))

    async def claim_probe(self, upstream: str, generation: int, slots: int, ttl_ms: int) -> bool:
        now = self._clock.monotonic()
        for slot in range(slots):
            key = (upstream, generation, slot)
            if self._slots.get(key, 0.0) <= now:
                self._slots[key] = now + ttl_ms / 1000
                return True
        return False
