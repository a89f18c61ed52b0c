"""The policy snapshot in force, swapped atomically."""

from __future__ import annotations

from guardd.errors import NotFound, Unavailable
from guardd.pipeline.plan import PolicyPlan, Snapshot
from guardd.policy.model import DEFAULT_POLICY


class SnapshotHolder:
    """Holds the current ``Snapshot``.

    A request reads ``current`` once at its start and keeps that object, so a
    swap never changes the policy under a request in flight. Assigning one
    attribute is atomic; no lock is needed.
    """

    def __init__(self) -> None:
        self._current: Snapshot | None = None

    @property
    def current(self) -> Snapshot:
        snapshot = self._current
        if snapshot is None:
            raise Unavailable("no policy loaded yet: guardd is starting; retry shortly")
        return snapshot

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def swap(self, snapshot: Snapshot) -> Snapshot | None:
        previous, self._current = self._current, snapshot
        return previous


def plan_for(snapshot: Snapshot, name: str) -> PolicyPlan:
    """The named policy's plan (empty name means ``default``), or NOT_FOUND listing the known ones."""
    plan = snapshot.plans.get(name or DEFAULT_POLICY)
    if plan is None:
        known = ", ".join(sorted(snapshot.plans))
        raise NotFound(f"unknown policy '{name or DEFAULT_POLICY}'; policies in version {snapshot.version}: {known}")
    return plan
