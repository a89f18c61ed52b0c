"""Rolling windows: time-bucketed rings with O(1) record and memory fixed at construction.

A ring keeps two running sums per bucket (good and total events, or cost and
goodput) for its last ``size`` buckets of ``width`` seconds. A window of W
seconds on a ring of width w covers the newest ``W // w`` buckets, the current
partial one included, so it spans between W - w and W seconds. Times are
monotonic seconds from the injected ``Clock``: wall-clock jumps cannot move a
window, and a time earlier than the newest bucket (never seen with a
monotonic clock, but cheap to survive) counts in the newest bucket.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

WINDOWS: Mapping[str, float] = MappingProxyType(
    {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200}
)
"""The SRE workbook's alert windows: GetSLOStatus reports SLI and burn rate for each."""


class Ring:
    """Two sums per time bucket over the last ``size`` buckets."""

    __slots__ = ("_a", "_b", "_head", "size", "width")

    def __init__(self, width: float, size: int, typecode: str = "i") -> None:
        # 'i' (32-bit) halves memory against Python ints; a sidecar never sees 2**31 events per bucket.
        self.width = width
        self.size = size
        self._a: array[Any] = _zeros(typecode, size)
        self._b: array[Any] = _zeros(typecode, size)
        self._head: int | None = None
        """Absolute index (time // width) of the newest bucket written."""

    def add(self, now: float, a: float, b: float) -> None:
        """Add ``a`` and ``b`` to the bucket holding ``now``."""
        slot = self._advance(int(now // self.width)) % self.size
        self._a[slot] += a
        self._b[slot] += b

    def sums(self, now: float, buckets: int) -> tuple[float, float]:
        """The sums over the newest ``buckets`` buckets up to ``now``; reads only, so a scrape thread may call it."""
        head = self._head
        if head is None:
            return 0, 0
        newest = int(now // self.width)
        first = max(newest - buckets + 1, head - self.size + 1)
        last = min(newest, head)
        if last < first:
            return 0, 0
        return self._sum(self._a, first, last), self._sum(self._b, first, last)

    def _sum(self, values: array[Any], first: int, last: int) -> float:
        start, end = first % self.size, last % self.size
        if start <= end:  # first..last never holds more than ``size`` buckets
            return float(sum(values[start : end + 1]))
        return float(sum(values[start:]) + sum(values[: end + 1]))

    def _advance(self, index: int) -> int:
        """Move the head to ``index``, zeroing the buckets it passes; amortized O(1)."""
        head = self._head
        if head is None or index - head >= self.size:
            self._clear()
        elif index <= head:
            return head
        else:
            self._zero(head + 1, index)
        self._head = index
        return index

    def _clear(self) -> None:
        self._zero(0, self.size - 1)

    def _zero(self, first: int, last: int) -> None:
        # Slice assignment runs in C; a temporary array is cheaper than keeping a zero ring per ring.
        start, end = first % self.size, first % self.size + last - first + 1
        for values in (self._a, self._b):
            if end <= self.size:
                values[start:end] = _zeros(values.typecode, end - start)
            else:
                values[start:] = _zeros(values.typecode, self.size - start)
                values[: end - self.size] = _zeros(values.typecode, end - self.size)


def _zeros(typecode: str, count: int) -> array[Any]:
    return array(typecode, bytes(array(typecode).itemsize * count))


@dataclass(frozen=True, slots=True)
class Resolution:
    """One ring's shape: bucket width and how many buckets."""

    width: float
    size: int

    @property
    def span(self) -> float:
        return self.width * self.size


# 10 s buckets for the 5m and 30m windows, 1 min up to 6h, 15 min up to 3d: each window is
# at most one bucket short of its length, and 828 buckets cover all seven.
WINDOW_RESOLUTIONS = (Resolution(10, 180), Resolution(60, 360), Resolution(900, 288))
OPEN_WIDTH = 10
"""Every ring's bucket width is a multiple of this, so an open bucket lands whole in one bucket of each."""
PERIOD_BUCKETS = 720


def period_resolution(period: float) -> Resolution:
    """The ring for a whole SLO period: 720 buckets (1 h each for 30 days)."""
    width = max(60, math.ceil(period / PERIOD_BUCKETS / OPEN_WIDTH) * OPEN_WIDTH)
    return Resolution(width, math.ceil(period / width))


class RollingCounts:
    """Good and total events over every window in ``WINDOWS`` and over the SLO period.

    Events accumulate in one open 10 s bucket (two integer additions per
    event); when time moves to the next bucket, or a query comes, the open
    bucket is added to every ring at once. Every ring's width is a multiple of
    10 s, so this is exact. Memory is fixed: (828 + 720) buckets x 2 counters
    x 4 bytes = 12 KiB, whatever the traffic.
    """

    __slots__ = ("_good", "_open", "_period", "_rings", "_total")

    def __init__(self, period: float) -> None:
        self._rings = tuple(Ring(r.width, r.size) for r in WINDOW_RESOLUTIONS)
        resolution = period_resolution(period)
        self._period = Ring(resolution.width, resolution.size)
        self._open = -1
        """Index (time // OPEN_WIDTH) of the open bucket; -1 before the first event."""
        self._good = 0
        self._total = 0

    def record(self, now: float, *, good: bool) -> None:
        index = int(now // OPEN_WIDTH)
        if index > self._open:
            self._flush()
            self._open = index
        # An earlier index (never from a monotonic clock) counts in the open, newest bucket.
        self._good += good
        self._total += 1

    def _flush(self) -> None:
        if self._total:
            start = self._open * OPEN_WIDTH
            for ring in (*self._rings, self._period):
                ring.add(start, self._good, self._total)
            self._good = self._total = 0

    def window(self, now: float, seconds: float) -> tuple[int, int]:
        """(good, total) over the last ``seconds``, from the finest ring that spans it."""
        self._flush()
        for ring in self._rings:
            if ring.width * ring.size >= seconds:
                good, total = ring.sums(now, max(1, int(seconds // ring.width)))
                return int(good), int(total)
        raise ValueError(f"no ring spans {seconds} s; the longest window is {WINDOWS['3d']} s")

    def period(self, now: float) -> tuple[int, int]:
        """(good, total) over the whole SLO period (or since this process started, if shorter)."""
        self._flush()
        good, total = self._period.sums(now, self._period.size)
        return int(good), int(total)
