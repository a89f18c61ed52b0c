"""The decision-log writer: a bounded queue in front of one writer thread.

Validate only appends a reference to a queue (``put_nowait``); formatting,
hashing and I/O happen in the writer thread, which flushes whenever the queue
runs dry, so a record reaches the OS within milliseconds of its RPC.

When the queue is full the record is **dropped, never waited for**: the
decision log must not become the reason a guardrail misses its deadline.
Drops are counted in ``guardd_audit_dropped_records_total``, and the next
record written carries ``dropped_before: N`` so the gap is visible in the
chain itself. Size the queue (``--audit-queue``) for your burst size times write time.
On shutdown the server drains first, then ``close()`` writes everything
queued, flushes and fsyncs: SIGTERM loses nothing.

With an ``Excerpter`` each record also gets a redacted excerpt of its text,
made here in the writer thread. Excerpts are best-effort: while more than
``EXCERPT_BACKLOG`` records wait, records are written without one
(``excerpt_omitted: backlog``), so the log keeps pace with the traffic and
never drops records for an excerpt's sake.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from prometheus_client import CollectorRegistry, Counter

from guardd.audit.chain import ChainHead, resume, seal
from guardd.audit.record import OMIT_REASONS, AuditEntry, Excerpt, Excerpter, ModelDigests, to_record

log = logging.getLogger(__name__)

STDOUT = Path("-")
SALT_ENV = "GUARDD_AUDIT_SALT"
EXCERPT_BACKLOG = 256
"""Records waiting beyond which excerpts are skipped: at a few ms each, about a second behind."""


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """Where the decision log goes and how much it may buffer."""

    path: Path
    """A JSON Lines file (appended to, its chain continued), or ``-`` for stdout."""
    queue_size: int = 65536
    salt_file: Path | None = None
    """The secret the text HMAC is keyed with; else $GUARDD_AUDIT_SALT, else random per process."""
    excerpt_chars: int = 0
    """Code points of the text kept, PII replaced, in each record's ``excerpt``; 0: no excerpt."""

    def salt(self) -> bytes:
        if self.salt_file is not None:
            return self.salt_file.read_bytes().strip()
        from_env = os.environ.get(SALT_ENV, "")
        # A random salt still hides texts; only matching across restarts is lost.
        return from_env.encode() if from_env else secrets.token_bytes(32)


class _Metrics:
    def __init__(self, registry: CollectorRegistry, *, excerpts: bool) -> None:
        self.written = Counter("guardd_audit_records", "Decision-log records written.", registry=registry)
        self.dropped = Counter(
            "guardd_audit_dropped_records",
            "Decision-log records dropped because the queue was full.",
            registry=registry,
        )
        self.excerpts_omitted: Counter | None = None
        if excerpts:
            self.excerpts_omitted = Counter(
                "guardd_audit_excerpts_omitted",
                "Decision-log records written without their excerpt, by reason.",
                ["reason"],
                registry=registry,
            )
            for reason in OMIT_REASONS:
                self.excerpts_omitted.labels(reason)


_STOP = object()


class AuditLog:
    """The decision log of one process. ``record`` never blocks; ``close`` writes what is queued."""

    def __init__(
        self, settings: AuditSettings, registry: CollectorRegistry, excerpter: Excerpter | None = None
    ) -> None:
        self._settings = settings
        self._excerpter = excerpter
        self._metrics = _Metrics(registry, excerpts=excerpter is not None)
        self._queue: queue.Queue[AuditEntry | object] = queue.Queue(settings.queue_size)
        self._dropped = 0
        self._lock = threading.Lock()
        self._digests = ModelDigests()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Find the chain's head and start the writer; raises ``ValueError``/``OSError`` on a bad file."""
        to_stdout = self._settings.path == STDOUT
        head = ChainHead() if to_stdout else resume(self._settings.path)
        salt = self._settings.salt()
        out: IO[str] = sys.stdout if to_stdout else self._settings.path.open("a", encoding="utf-8")
        self._thread = threading.Thread(
            target=self._write_all, args=(out, head, salt), name="guardd-audit", daemon=True
        )
        self._thread.start()

    def record(self, entry: AuditEntry) -> None:
        """Queue one record; drop (and count) it when the queue is full."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            with self._lock:
                self._dropped += 1
            self._metrics.dropped.inc()

    def close(self) -> None:
        """Write everything queued, flush and fsync. Call after the server has drained."""
        if self._thread is None or not self._thread.is_alive():
            return
        self._queue.put(_STOP)  # blocking is right here: the queue only shrinks now
        self._thread.join()
        self._thread = None

    def _take_dropped(self) -> int:
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        return dropped

    def _write_all(self, out: IO[str], head: ChainHead, salt: bytes) -> None:
        try:
            while (item := self._queue.get()) is not _STOP:
                head = self._write(out, head, salt, item)
                if self._queue.empty():
                    out.flush()
        except Exception:
            log.exception("the decision log writer failed; records are no longer written")
            raise
        finally:
            out.flush()
            if out is not sys.stdout:
                os.fsync(out.fileno())
                out.close()

    def _write(self, out: IO[str], head: ChainHead, salt: bytes, item: object) -> ChainHead:
        assert isinstance(item, AuditEntry)  # noqa: S101 - only AuditEntry and _STOP are ever queued
        record: dict[str, Any] = {"seq": head.seq + 1, **to_record(item, salt, self._digests.of(item.policies))}
        if self._excerpter is not None:
            record |= self._excerpt(self._excerpter, item.text)  # before sealing: the hash covers it
        dropped = self._take_dropped()
        if dropped:
            record["dropped_before"] = dropped
        sealed = seal(record, head.hash)
        out.write(_line(sealed))
        self._metrics.written.inc()
        return ChainHead(sealed["hash"], record["seq"])

    def _excerpt(self, excerpter: Excerpter, text: str) -> dict[str, str]:
        excerpt = Excerpt(omitted="backlog") if self._queue.qsize() > EXCERPT_BACKLOG else excerpter(text)
        if excerpt.omitted is not None and self._metrics.excerpts_omitted is not None:
            self._metrics.excerpts_omitted.labels(excerpt.omitted).inc()
        return excerpt.fields()


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
