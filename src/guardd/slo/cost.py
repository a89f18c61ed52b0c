"""Cost per good response: a gauge computed at scrape time from in-process windows.

It is not an SLO ratio, so it gets no error budget or alerts. Prometheus can
compute the fleet-wide figure from the counters instead:
``sum(rate(guardd_upstream_cost_usd_total[1h])) / sum(rate(guardd_sli_events_total{slo="goodput",good="true"}[1h]))``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from guardd.clock import Clock
from guardd.slo.window import Ring

WINDOW_S = 3600.0
_BUCKET_S = 60.0


class CostWindows(Collector):
    """Cost and good responses over the last hour per (policy, upstream); a Prometheus collector.

    Written on the event loop, read by the scrape thread: the reader copies the
    dict first (atomic under the GIL) and only reads rings.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._rings: dict[tuple[str, str], Ring] = {}

    def _ring(self, policy: str, upstream: str) -> Ring:
        ring = self._rings.get((policy, upstream))
        if ring is None:
            ring = self._rings[(policy, upstream)] = Ring(_BUCKET_S, int(WINDOW_S / _BUCKET_S), "d")
        return ring

    def add_cost(self, policy: str, upstream: str, usd: float) -> None:
        self._ring(policy, upstream).add(self._clock.monotonic(), usd, 0)

    def add_good(self, policy: str, upstream: str) -> None:
        self._ring(policy, upstream).add(self._clock.monotonic(), 0, 1)

    def cost_per_good(self, policy: str, upstream: str) -> float | None:
        """USD per good response over the last hour; None without a good response to divide by."""
        ring = self._rings.get((policy, upstream))
        if ring is None:
            return None
        cost, good = ring.sums(self._clock.monotonic(), ring.size)
        return cost / good if good else None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "guardd_sli_cost_per_goodput_usd",
            "Upstream cost per good response (goodput) over the last hour, this replica; absent without goodput.",
            labels=["policy", "upstream"],
        )
        for policy, upstream in tuple(self._rings):
            value = self.cost_per_good(policy, upstream)
            if value is not None:
                family.add_metric([policy, upstream], value)
        yield family
