"""What the API needs from the SLO and breaker subsystems, as narrow protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from guardd.audit.record import AuditEntry
from guardd.events import EventSink, Fanout
from guardd.v1 import guard_pb2 as pb


class CircuitLookup(Protocol):
    """The breaker of an upstream, as callers see it. O(1), never blocks."""

    def circuit(self, upstream: str) -> pb.Circuit | None:
        """The upstream's breaker, or None when guardd keeps none for it."""
        ...

    def admit(self, upstream: str) -> pb.Circuit | None:
        """Like ``circuit``, for a caller about to call the upstream (an INPUT validation).

        In HALF_OPEN this is what hands out the few probe permits, so it must not be used for reads.
        """
        ...


class AuditSink(Protocol):
    """The decision log, as Validate sees it: never blocks, never raises."""

    def record(self, entry: AuditEntry) -> None:
        """Queue one decided Validate for the log."""
        ...


@dataclass(frozen=True, slots=True)
class Subsystems:
    """Where the API publishes events and reads breaker state."""

    events: EventSink = field(default_factory=Fanout)
    circuits: CircuitLookup | None = None
    audit: AuditSink | None = None
