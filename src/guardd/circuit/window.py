"""Sliding windows of call samples, and the tallies they add up to.

Two streams are counted separately because one LLM call produces two events:
its outcome (``ReportOutcome``: ok or a hard failure, and its latency) and its
OUTPUT verdict (soft failures). Counting both in one denominator would halve
every rate. Hard and slow rates are over outcomes; soft rates over verdicts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from guardd.clock import Clock
from guardd.events import HARD

Stream = Literal["outcome", "output"]
CALLS: Mapping[Stream, str] = {"outcome": "calls.outcome", "output": "calls.output"}


def stream_of(key: str) -> Stream:
    """Which stream's calls a failure key is a rate of."""
    return "outcome" if key in HARD or key in {"hard", "slow"} else "output"


@dataclass(frozen=True, slots=True)
class Sample:
    """One call as a window records it: its stream and the failure keys it counts towards."""

    stream: Stream
    keys: frozenset[str] = frozenset()


@dataclass(slots=True)
class Tally:
    """Counts by key: ``calls.outcome``, ``calls.output``, and one per failure key."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, sample: Sample, sign: int = 1) -> None:
        counts = self.counts
        calls = CALLS[sample.stream]
        counts[calls] = counts.get(calls, 0) + sign
        for key in sample.keys:
            counts[key] = counts.get(key, 0) + sign

    def merge(self, other: Mapping[str, int]) -> Tally:
        merged = dict(self.counts)
        for key, value in other.items():
            merged[key] = merged.get(key, 0) + int(value)
        return Tally(merged)

    def calls(self, stream: Stream) -> int:
        return self.counts.get(CALLS[stream], 0)

    def rate(self, key: str) -> float:
        calls = self.calls(stream_of(key))
        return self.counts.get(key, 0) / calls if calls else 0.0

    def rates(self, keys: Iterable[str]) -> dict[str, float]:
        return {key: self.rate(key) for key in keys}


class Window(Protocol):
    """A sliding window of samples with a running tally."""

    @property
    def tally(self) -> Tally: ...

    def record(self, sample: Sample) -> None: ...

    def reset(self) -> None: ...


class CountWindow:
    """The last ``size`` samples of each stream (resilience4j COUNT_BASED)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._samples: dict[Stream, deque[Sample]] = {"outcome": deque(), "output": deque()}
        self._tally = Tally()

    @property
    def tally(self) -> Tally:
        return self._tally

    def record(self, sample: Sample) -> None:
        ring = self._samples[sample.stream]
        if len(ring) == self._size:
            self._tally.add(ring.popleft(), -1)
        ring.append(sample)
        self._tally.add(sample)

    def reset(self) -> None:
        for ring in self._samples.values():
            ring.clear()
        self._tally = Tally()


class TimeWindow:
    """The samples of the last ``seconds`` whole seconds (resilience4j TIME_BASED), in one-second buckets."""

    def __init__(self, seconds: int, clock: Clock) -> None:
        self._seconds = seconds
        self._clock = clock
        self._buckets: deque[tuple[int, Tally]] = deque()
        self._tally = Tally()

    @property
    def tally(self) -> Tally:
        self._expire(int(self._clock.monotonic()))
        return self._tally

    def record(self, sample: Sample) -> None:
        now = int(self._clock.monotonic())
        self._expire(now)
        if not self._buckets or self._buckets[-1][0] != now:
            self._buckets.append((now, Tally()))
        self._buckets[-1][1].add(sample)
        self._tally.add(sample)

    def _expire(self, now: int) -> None:
        while self._buckets and self._buckets[0][0] <= now - self._seconds:
            _, old = self._buckets.popleft()
            for key, value in old.counts.items():
                self._tally.counts[key] -= value

    def reset(self) -> None:
        self._buckets.clear()
        self._tally = Tally()
