"""Joins an upstream outcome and its output verdict by ``request_id`` to judge goodput once per call.

A call is good (goodput) when the upstream answered ok *and* its output was
neither blocked, refused, hallucinated nor malformed. Either half alone can
prove a call bad, so a bad half is judged at once (fast pages) and leaves a
*settled* marker that absorbs its partner. A good half waits for its partner
for ``join_timeout`` seconds; if none arrives it is judged alone, as good.
Pending entries are bounded by ``max_pending``: beyond it the oldest is
judged alone early. Every call is therefore counted exactly once, whichever
halves arrive, and memory never exceeds ``max_pending`` entries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Half = Literal["outcome", "verdict"]
Reason = Literal["expired", "evicted"]


@dataclass(frozen=True, slots=True)
class Judged:
    """Goodput's verdict on one LLM call, under the labels of the half that decided it."""

    policy: str
    upstream: str
    good: bool


@dataclass(slots=True)
class _Pending:
    half: Half
    policy: str
    upstream: str
    since: float
    settled: bool
    """True when this half already judged the call bad; the partner only removes the marker."""


class Joiner:
    """Pairs halves by request id; calls ``emit`` once per call and ``unpaired`` per half judged alone."""

    def __init__(
        self,
        emit: Callable[[Judged], None],
        unpaired: Callable[[Half, Reason], None],
        *,
        timeout: float,
        capacity: int,
    ) -> None:
        self._emit = emit
        self._unpaired = unpaired
        self.timeout = timeout
        self.capacity = capacity
        self._pending: OrderedDict[str, _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def offer(self, request_id: str, half: Half, judged: Judged, now: float) -> None:
        """One half of call ``request_id`` arrived at ``now``; ``judged.good`` is what this half says alone."""
        self.expire(now)
        if not request_id:  # nothing to join on: the half speaks for the whole call
            self._emit(judged)
            return
        entry = self._pending.pop(request_id, None)
        if entry is not None and entry.half != half:
            self._complete(entry, judged)
            return
        if entry is not None:  # the same half again (a retry reusing the id): the first one stands alone
            self._close(entry, "expired")
        self._hold(request_id, half, judged, now)

    def expire(self, now: float) -> None:
        """Judge alone every half that waited ``timeout`` seconds; insertion order is arrival order."""
        pending = self._pending
        while pending:
            entry = next(iter(pending.values()))
            if now - entry.since < self.timeout:
                return
            pending.popitem(last=False)
            self._close(entry, "expired")

    def _complete(self, entry: _Pending, judged: Judged) -> None:
        if entry.settled:
            return  # the call was counted bad when that half arrived
        # The waiting half was good, so the call is what the arriving half says; the outcome
        # names the upstream for sure (a Validate request may leave it empty).
        labels: _Pending | Judged = entry if entry.half == "outcome" else judged
        self._emit(Judged(labels.policy, labels.upstream, judged.good))

    def _hold(self, request_id: str, half: Half, judged: Judged, now: float) -> None:
        if not judged.good:
            self._emit(judged)
        while len(self._pending) >= self.capacity:
            _, oldest = self._pending.popitem(last=False)
            self._close(oldest, "evicted")
        self._pending[request_id] = _Pending(half, judged.policy, judged.upstream, now, settled=not judged.good)

    def _close(self, entry: _Pending, reason: Reason) -> None:
        if entry.settled:
            return
        self._unpaired(entry.half, reason)
        self._emit(Judged(entry.policy, entry.upstream, good=True))
