"""Every tracked (SLO, policy, upstream) series, exported as ``guardd_sli_events_total`` at scrape time.

Counting is a plain integer addition on the event loop; the scrape thread
reads the integers when Prometheus asks (the ``Collector`` pattern of
prometheus_client), so the hot path takes no lock. A series exists, at 0,
from the first event of its (policy, upstream), and vanishes from /metrics
when a reload removes its SLO.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from guardd.slo.spec import SLOSpec
from guardd.slo.window import RollingCounts

SeriesKey = tuple[str, str, str]
"""(slo, policy, upstream label)."""


class Series:
    """One SLO for one (policy, upstream): its rolling windows and its lifetime counts."""

    __slots__ = ("bad", "counts", "good", "slo")

    def __init__(self, slo: SLOSpec) -> None:
        self.slo = slo
        self.counts = RollingCounts(slo.period)
        self.good = 0
        self.bad = 0

    def record(self, now: float, *, good: bool) -> None:
        self.counts.record(now, good=good)
        if good:
            self.good += 1
        else:
            self.bad += 1


class SeriesTable(Collector):
    """The series by key; a Prometheus collector of their counts."""

    def __init__(self) -> None:
        self._series: dict[SeriesKey, Series] = {}

    def __len__(self) -> int:
        return len(self._series)

    def __contains__(self, key: object) -> bool:
        return key in self._series

    def get(self, key: SeriesKey) -> Series | None:
        return self._series.get(key)

    def create(self, key: SeriesKey, slo: SLOSpec) -> Series:
        series = self._series[key] = Series(slo)
        return series

    def drop(self, key: SeriesKey) -> None:
        del self._series[key]

    def items(self) -> list[tuple[SeriesKey, Series]]:
        """A copy, in key order: safe to iterate while events keep arriving."""
        return sorted(self._series.items())

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "guardd_sli_events",
            "SLI events by SLO, policy and upstream; good=false ones spend error budget.",
            labels=["slo", "policy", "upstream", "good"],
        )
        for (slo, policy, upstream), series in tuple(self._series.items()):  # tuple(): atomic under the GIL
            family.add_metric([slo, policy, upstream, "true"], series.good)
            family.add_metric([slo, policy, upstream, "false"], series.bad)
        yield family
