"""Hot reload: watch the policy path, and on change build → validate → swap.

Polling a fingerprint once a second catches every way a file can change,
including Kubernetes' ConfigMap update, which swaps the ``..data`` symlink
rather than writing the files (inotify on the file sees nothing). SIGHUP
triggers an immediate check. A version that fails to load leaves the one in
force untouched and is reported in the log and in
``guardd_policy_reload_errors_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from guardd.errors import PolicyError
from guardd.pipeline.plan import Snapshot
from guardd.policy.source import policy_files
from guardd.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(root: Path) -> Fingerprint:
    """What changes whenever the policy content may have changed (stat follows symlinks)."""
    entries = []
    for path in [root, *policy_files(root)] if root.is_dir() else [root]:
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(entries)


class SnapshotSource(Protocol):
    """Where the reloader gets new snapshots from and puts them."""

    @property
    def version(self) -> str:
        """The version in force."""
        ...

    def load(self) -> Snapshot:
        """Read and build the policy; raises ``PolicyError``. Runs in a worker thread."""
        ...

    def install(self, snapshot: Snapshot) -> None:
        """Put ``snapshot`` in force."""
        ...


class PolicyReloader:
    """Reloads the policy when its files change or when asked (SIGHUP)."""

    def __init__(self, root: Path, source: SnapshotSource, metrics: Metrics, *, interval_s: float = 1.0) -> None:
        self._root = root
        self._source = source
        self._metrics = metrics
        self._interval = interval_s
        self._wake = asyncio.Event()
        self._seen = fingerprint(root)

    def trigger(self) -> None:
        """Check the policy now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            forced = self._wake.is_set()
            self._wake.clear()
            seen = await asyncio.to_thread(fingerprint, self._root)
            if forced or seen != self._seen:
                self._seen = seen
                await self.reload("signal" if forced else "file change")

    async def reload(self, reason: str) -> bool:
        """Load and install the policy; on failure keep the current one. Returns whether it is in force."""
        try:
            # Parsing YAML and compiling patterns is CPU work: keep it off the event loop.
            snapshot = await asyncio.to_thread(self._source.load)
        except PolicyError as exc:
            self._metrics.reload_errors.inc()
            log.error(  # noqa: TRY400 - the diagnostics are the useful part, not a traceback
                "policy reload rejected; the last good policy stays in force",
                extra={
                    "reason": reason,
                    "version": self._source.version,
                    "errors": [str(d) for d in exc.diagnostics],
                },
            )
            return False
        except Exception:
            self._metrics.reload_errors.inc()
            log.exception("policy reload failed; the last good policy stays in force", extra={"reason": reason})
            return False
        if snapshot.version != self._source.version:
            self._source.install(snapshot)
        return True
