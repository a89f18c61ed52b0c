"""HALF_OPEN: probe permits claimed fleet-wide, and the decision their outcomes lead to.

``admit`` must answer without waiting for the store, so permits are claimed
ahead of demand: a replica claims one when it enters HALF_OPEN after seeing
callers for the upstream, and claims the next in the background as soon as it
hands one out. Each of the ``half_open_calls`` slots has one winner across the
fleet (``SET NX PX`` in Redis), so at most that many callers get
``allow_request`` per half-open period. A slot claimed but never used is
released after ``probe_timeout``, so a replica that lost its callers cannot
stall the half-open for everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardd.circuit.machine import probe_verdict, reopen_ms
from guardd.circuit.tracked import Tracked
from guardd.circuit.window import Sample

if TYPE_CHECKING:
    from guardd.circuit.engine import Breakers

CLAIM_RETRY_S = 0.1
"""After a lost claim, how long before trying again (a slot may be released by ``probe_timeout``)."""
# Local permits lapse a little before the store's claim does, so a permit is never used after its slot is free.
LOCAL_MARGIN = 0.9


class Probes:
    """Claims, hands out and judges half-open probes for the engine."""

    def __init__(self, engine: Breakers) -> None:
        self._engine = engine

    def take(self, tracked: Tracked) -> bool:
        """Hand out a permit if this replica holds one; either way, keep one claim in flight."""
        now = self._engine.clock.monotonic()
        tracked.seen = True
        taken = tracked.take_permit(now)
        self._claim_soon(tracked, now)
        return taken

    def on_half_open(self, tracked: Tracked) -> None:
        """A new HALF_OPEN: claim a permit at once if callers were seen here (they will want one)."""
        if tracked.seen:
            self._claim_soon(tracked, self._engine.clock.monotonic())

    def _claim_soon(self, tracked: Tracked, now: float) -> None:
        if tracked.claiming or tracked.permits or now < tracked.next_claim:
            return
        tracked.claiming = True
        tracked.next_claim = now
        self._engine.spawn(self._claim(tracked, tracked.shared.generation))

    async def _claim(self, tracked: Tracked, generation: int) -> None:
        engine = self._engine
        config = tracked.config
        ttl_ms = int(config.probe_timeout * 1000)
        try:
            won = await engine.store.claim_probe(tracked.name, generation, config.half_open_calls, ttl_ms)
        finally:
            tracked.claiming = False
        now = engine.clock.monotonic()
        if won and tracked.shared.generation == generation and tracked.shared.state == "half_open":
            tracked.permits.append(now + config.probe_timeout * LOCAL_MARGIN)
        else:
            tracked.next_claim = now + CLAIM_RETRY_S

    async def record(self, tracked: Tracked, generation: int, sample: Sample) -> None:
        """Count one half-open outcome fleet-wide; the outcome that completes the set decides."""
        engine = self._engine
        tally = await engine.store.add_probe(tracked.name, generation, sample)
        verdict = probe_verdict(tally, tracked.config)
        if verdict is None or tracked.shared.generation != generation:
            return
        decision, reason = verdict
        current = tracked.shared
        if decision == "open":
            new = current.successor("open", "probes_failed", reason, reopen_ms(current, tracked.config))
        else:
            new = current.successor("closed", "probes_passed", reason, int(tracked.config.open_for * 1000))
        result = await engine.store.cas(tracked.name, generation, new)
        if result.state is not None:
            engine.apply(tracked.name, result.state, "local")
