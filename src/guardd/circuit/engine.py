"""The breakers of every upstream: fed by events, shared through a store, read by the API.

Everything the API calls (``circuit``, ``admit``, ``on_outcome``, ``on_output``)
is synchronous and O(1): it touches local state only. Anything that needs the
store (a trip, a probe claim, a half-open outcome) runs as a task this engine
owns, and its result comes back through ``apply``, like a change from another
replica does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from guardd.circuit.config import CircuitsConfig, StoreConfig
from guardd.circuit.machine import SharedState, sample_of_outcome, sample_of_output, should_open, wins
from guardd.circuit.metrics import CircuitMetrics
from guardd.circuit.probes import Probes
from guardd.circuit.store import MemoryStore, Store, Via
from guardd.circuit.tracked import Tracked, new_window
from guardd.circuit.watch import Watch, Watchers
from guardd.circuit.window import Sample, Tally
from guardd.clock import Clock
from guardd.events import OutputVerdict, UpstreamOutcome
from guardd.v1 import guard_pb2 as pb

log = logging.getLogger(__name__)
MAX_UPSTREAM_CHARS = 256
TICK_S = 0.05
RETRY_S = 0.05
"""After the fleet declines a trip, wait this long before asking again (not once per event)."""


class Breakers:
    """Per-upstream breakers: an ``EventSink`` and a ``CircuitLookup``."""

    def __init__(self, config: Callable[[], CircuitsConfig], clock: Clock, metrics: CircuitMetrics) -> None:
        self._config = config
        self.clock = clock
        self.metrics = metrics
        self.store: Store = MemoryStore(clock)
        self._store_config = StoreConfig()
        self.tracked: dict[str, Tracked] = {}
        self.watchers = Watchers()
        self._tasks: set[asyncio.Task[None]] = set()
        self._store_ok = True
        self.probes = Probes(self)

    def use_store(self, store: Store, config: StoreConfig) -> None:
        """Share state through ``store`` (before ``run``; the policy's ``store:`` is read once, at start)."""
        self.store = store
        self._store_config = config

    # --- what the API calls: synchronous, local -------------------------------------------------

    def circuit(self, upstream: str) -> pb.Circuit | None:
        tracked = self.track(upstream)
        return None if tracked is None else tracked.message(store_ok=self._store_ok)

    def admit(self, upstream: str) -> pb.Circuit | None:
        """Like ``circuit``, for a caller about to call the upstream: in HALF_OPEN this hands out a probe."""
        tracked = self.track(upstream)
        if tracked is None:
            return None
        message = tracked.message(store_ok=self._store_ok)
        if tracked.effective.state != "half_open" or not self._store_ok:
            return message
        if not self.probes.take(tracked):
            return message
        permitted = pb.Circuit()
        permitted.CopyFrom(message)
        permitted.allow_request = True
        return permitted

    def on_outcome(self, outcome: UpstreamOutcome) -> None:
        tracked = self.track(outcome.upstream)
        if tracked is not None:
            self._record(tracked, sample_of_outcome(outcome.category, outcome.latency_ms, tracked.config))

    def on_output(self, verdict: OutputVerdict) -> None:
        tracked = self.track(verdict.upstream)
        if tracked is not None:
            self._record(tracked, sample_of_output(verdict.failures))

    def track(self, upstream: str) -> Tracked | None:
        """The upstream's breaker, created on first sight; None when breakers are off or the cap is reached."""
        tracked = self.tracked.get(upstream)
        if tracked is not None:
            return tracked
        config = self._config()
        if not config.enabled or not upstream:
            return None
        if len(self.tracked) >= config.max_upstreams or len(upstream) > MAX_UPSTREAM_CHARS:
            self.metrics.untracked.inc()
            return None
        breaker = config.for_upstream(upstream)
        tracked = Tracked(upstream, breaker, new_window(breaker, self.clock))
        self.tracked[upstream] = tracked
        self.metrics.track(upstream, tracked.effective)
        return tracked

    # --- recording and deciding ---------------------------------------------------------------------

    def _record(self, tracked: Tracked, sample: Sample) -> None:
        tracked.seen = True
        state = tracked.effective.state
        if state == "closed":
            tracked.window.record(sample)
            tracked.invalidate()
            self._maybe_trip(tracked)
        elif state == "half_open":
            self.spawn(self.probes.record(tracked, tracked.shared.generation, sample))
        # OPEN, FORCED_OPEN, DISABLED: outcomes of calls made anyway are not evidence either way.

    def _maybe_trip(self, tracked: Tracked) -> None:
        if tracked.busy or self.clock.monotonic() < tracked.next_try:
            return
        if should_open(tracked.window.tally.merge(tracked.others.counts), tracked.config) is None:
            return
        tracked.busy = True
        self.spawn(self._trip(tracked, tracked.shared.generation))

    async def _trip(self, tracked: Tracked, generation: int) -> None:
        try:
            mine = tracked.window.tally
            fleet = await self.store.fleet_tally(tracked.name, generation, mine)
            tracked.others = _minus(fleet, mine)
            reason = should_open(fleet, tracked.config)
            if reason is None:
                tracked.next_try = self.clock.monotonic() + RETRY_S
                log.info("circuit trip declined by the fleet's counts", extra={"upstream": tracked.name})
                return
            new = tracked.shared.successor("open", "failure_rate", reason, int(tracked.config.open_for * 1000))
            result = await self.store.cas(tracked.name, generation, new)
            if result.state is not None:
                self.apply(tracked.name, result.state, "local")
        finally:
            tracked.busy = False

    async def _half_open(self, tracked: Tracked, generation: int) -> None:
        try:
            new = tracked.shared.successor("half_open", "open_elapsed", "open period elapsed; probing")
            result = await self.store.cas(tracked.name, generation, new, after_open=True)
            if result.state is not None:
                self.apply(tracked.name, result.state, "local")
            elif result.wait_ms:
                tracked.open_deadline = self.clock.monotonic() + result.wait_ms / 1000
        finally:
            tracked.busy = False

    # --- applying states, from anywhere -----------------------------------------------------------------

    def apply(self, upstream: str, state: SharedState, via: Via) -> None:
        """Adopt ``state`` if it is newer than what this replica holds (stale ones are ignored)."""
        tracked = self.track(upstream)
        if tracked is None or not wins(state, tracked.shared):
            return
        if via != "local":
            self.metrics.delay(via, self.clock.wall() - state.changed_at_ms / 1000)
        old_effective, old = tracked.effective, tracked.shared
        tracked.shared = state
        if state.generation != old.generation:
            tracked.window.reset()  # each state starts counting afresh, as resilience4j does
            tracked.others = Tally()
            tracked.permits.clear()
        if state.state == "open":
            tracked.open_deadline = self.clock.monotonic() + state.open_ms / 1000
        tracked.invalidate()
        self.metrics.transition(upstream, old_effective, tracked.effective)
        log.info(
            "circuit changed",
            extra={
                "upstream": upstream,
                "from": old.state,
                "to": state.state,
                "generation": state.generation,
                "via": via,
            },
        )
        self.watchers.publish(tracked.message(store_ok=self._store_ok))
        if state.state == "half_open":
            self.probes.on_half_open(tracked)

    def store_up(self, *, up: bool) -> None:
        self.metrics.store_up.set(1 if up else 0)
        ok = up or self._store_config.on_store_down == "keep_local"
        if ok == self._store_ok:
            return
        self._store_ok = ok
        for tracked in self.tracked.values():
            tracked.invalidate()
            self.watchers.publish(tracked.message(store_ok=ok))

    # --- background: timers, reconcile, reload -----------------------------------------------------

    async def run(self) -> None:
        """Serve until cancelled: start the store, then tick and reconcile."""
        await self.store.start(self)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._every(TICK_S, self.tick))
                group.create_task(self._every(self._store_config.reconcile_interval, self.reconcile))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.store.close()

    async def _every(self, seconds: float, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except Exception:  # a failed round must not end the loop; the next one retries
                log.exception("circuit background round failed")

    async def tick(self) -> None:
        """Ask the store to end OPENs that are due, retry trips that did not take, pick up policy changes."""
        now = self.clock.monotonic()
        config = self._config()
        for tracked in list(self.tracked.values()):
            self._refresh(tracked, config)
            if tracked.shared.state == "open" and not tracked.busy and now >= tracked.open_deadline:
                tracked.busy = True
                self.spawn(self._half_open(tracked, tracked.shared.generation))
            elif tracked.effective.state == "closed" and tracked.window.tally.counts:
                # A trip whose CAS lost a race or whose store call failed is otherwise retried only by the
                # next outcome, and a provider that is down may send none: the window alone must suffice.
                self._maybe_trip(tracked)

    def _refresh(self, tracked: Tracked, config: CircuitsConfig) -> None:
        breaker = config.for_upstream(tracked.name)
        if breaker is tracked.config:
            return
        before = tracked.effective
        if (breaker.window_type, breaker.window) != (tracked.config.window_type, tracked.config.window):
            tracked.window = new_window(breaker, self.clock)
        tracked.config = breaker
        tracked.invalidate()
        if tracked.effective.state != before.state:
            self.metrics.transition(tracked.name, before, tracked.effective)
            self.watchers.publish(tracked.message(store_ok=self._store_ok))

    async def reconcile(self) -> None:
        """Catch up with the store (pub/sub drops messages) and exchange window counts with the fleet."""
        for upstream, state in (await self.store.load(list(self.tracked))).items():
            self.apply(upstream, state, "reconcile")
        for tracked in list(self.tracked.values()):
            if tracked.effective.state == "closed" and tracked.window.tally.counts:
                mine = tracked.window.tally
                fleet = await self.store.fleet_tally(tracked.name, tracked.shared.generation, mine)
                tracked.others = _minus(fleet, mine)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task this engine owns (cancelled on stop)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("circuit task failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait for every task in flight (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- the RPCs' needs --------------------------------------------------------------------------------

    async def set_override(self, tracked: Tracked, override: str, reason: str) -> pb.Circuit:
        state = {"forced_open": "forced_open", "disabled": "disabled"}.get(override, "closed")
        text = reason or f"operator override: {override}"
        new = tracked.shared.successor(state, "override", text, int(tracked.config.open_for * 1000))  # type: ignore[arg-type]
        result = await self.store.cas(tracked.name, -1, new)
        if result.state is not None:
            self.apply(tracked.name, result.state, "local")
        return tracked.message(store_ok=self._store_ok)

    def watch(self, upstreams: frozenset[str]) -> tuple[Watch, list[pb.Circuit]]:
        """Subscribe, then take the snapshot, so no change between the two is missed."""
        watch = self.watchers.add(upstreams)
        for upstream in upstreams:
            self.track(upstream)
        snapshot = [t.message(store_ok=self._store_ok) for t in self.tracked.values() if watch.wants(t.name)]
        return watch, snapshot


def _minus(fleet: Tally, mine: Tally) -> Tally:
    return Tally({k: v - mine.counts.get(k, 0) for k, v in fleet.counts.items()})
