"""Upstream names come from requests, so the label values made from them are capped."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

OTHER = "other"
"""The label value of every upstream beyond ``max_upstreams``."""
UNKNOWN = "unknown"
"""The label value of an OUTPUT validation that named no upstream."""


class UpstreamLabels:
    """The first ``limit`` distinct upstreams keep their name; the rest share ``other``.

    First come, first kept: a label value never changes meaning once given,
    so series stay continuous. Memory is O(limit).
    """

    def __init__(self, limit: int, on_overflow: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self._kept: set[str] = set()
        self._on_overflow = on_overflow
        self.overflowed = 0
        """Events relabelled ``other`` so far."""

    def label(self, upstream: str) -> str:
        """The label value for ``upstream``, admitting it if there is room."""
        if not upstream:
            return UNKNOWN
        if upstream in self._kept or upstream in {OTHER, UNKNOWN}:
            return upstream
        if len(self._kept) < self.limit:
            self._kept.add(upstream)
            return upstream
        if self.overflowed == 0:
            log.warning(
                "more distinct upstreams than slo_settings.max_upstreams; the rest are counted as 'other'",
                extra={"max_upstreams": self.limit, "first_overflow": upstream},
            )
        self.overflowed += 1
        self._on_overflow()
        return OTHER

    def peek(self, upstream: str) -> str:
        """The label ``upstream`` has (or would get now), without admitting it."""
        if not upstream:
            return UNKNOWN
        return upstream if upstream in self._kept else OTHER

    def resize(self, limit: int) -> None:
        """Apply a reloaded ``max_upstreams``; upstreams already kept stay kept."""
        self.limit = limit
