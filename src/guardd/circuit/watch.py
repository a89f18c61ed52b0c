"""Fan-out of circuit changes to ``WatchCircuits`` streams."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from guardd.v1 import guard_pb2 as pb

QUEUE_SIZE = 1024


@dataclass(eq=False)
class Watch:
    """One watcher: the upstreams it wants (empty: all) and the changes not yet sent."""

    upstreams: frozenset[str]
    queue: asyncio.Queue[pb.Circuit] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    """Set when the watcher fell ``QUEUE_SIZE`` changes behind; its stream ends so it re-subscribes."""

    def wants(self, upstream: str) -> bool:
        return not self.upstreams or upstream in self.upstreams


class Watchers:
    """Every open ``WatchCircuits`` stream."""

    def __init__(self) -> None:
        self._watches: set[Watch] = set()

    def add(self, upstreams: frozenset[str]) -> Watch:
        watch = Watch(upstreams)
        self._watches.add(watch)
        return watch

    def remove(self, watch: Watch) -> None:
        self._watches.discard(watch)

    def publish(self, circuit: pb.Circuit) -> None:
        for watch in self._watches:
            if watch.overflowed or not watch.wants(circuit.upstream):
                continue
            try:
                watch.queue.put_nowait(circuit)
            except asyncio.QueueFull:
                # A stuck watcher must not grow memory without bound; it is told to resubscribe.
                watch.overflowed = True
                watch.queue.get_nowait()
                watch.queue.put_nowait(circuit)
