"""``guardd_event_loop_lag_seconds``: how late the event loop wakes a sleeping task.

A blocked loop (sync I/O, a CPU-heavy call) delays every RPC at once; this is
the one gauge that shows it directly. The probe sleeps ``interval_s`` and
records the overshoot; the gauge holds the largest lag of the last interval.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Gauge

from guardd.clock import Clock


class LoopLag:
    """Measures event-loop lag until cancelled."""

    def __init__(self, registry: CollectorRegistry, clock: Clock, interval_s: float = 0.25) -> None:
        self._clock = clock
        self._interval = interval_s
        self.gauge = Gauge(
            "guardd_event_loop_lag_seconds",
            "How much later than asked the event loop last woke a sleeping task.",
            registry=registry,
        )

    async def run(self) -> None:
        while True:
            start = self._clock.monotonic()
            await asyncio.sleep(self._interval)
            self.gauge.set(max(0.0, self._clock.monotonic() - start - self._interval))
