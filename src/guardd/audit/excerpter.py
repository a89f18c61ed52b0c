"""The decision-log writer's side of the excerpt: asks a dedicated worker process for it, and waits.

The writer thread calls ``PooledExcerpter`` and blocks on the answer; the
event loop only relays two small frames (the same IPC a ``pii`` guardrail
does). The pool it is given is its own (the App makes it one process), so
excerpts never queue in front of a request's PII analysis. Every
failure becomes an ``Excerpt`` with a reason: the writer never sees an
exception from here, and never gets the raw text back in place of an excerpt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging

from guardd.audit.excerpt import make_handler, window
from guardd.audit.record import Excerpt
from guardd.errors import GuardrailFailure
from guardd.workers.pool import WorkerPool

log = logging.getLogger(__name__)

HANDLER_KEY = "audit-excerpt"
TIMEOUT_S = 1.0
"""Per excerpt. A stuck worker then costs the writer a second, and the backlog rule skips the rest."""


class PooledExcerpter:
    """Excerpts from a worker process; ``start`` on the event loop, then call from the writer thread only."""

    def __init__(self, pool: WorkerPool, limit: int, *, timeout_s: float = TIMEOUT_S) -> None:
        self._pool = pool
        self._limit = limit
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start the worker and warm its analyzer; raises (``ValueError``, ``OSError``) if it cannot."""
        self._loop = asyncio.get_running_loop()
        self._pool.bind(self._loop)
        await self._pool.prepare(HANDLER_KEY, functools.partial(make_handler, self._limit))

    async def close(self) -> None:
        """Stop the worker; later excerpts are ``failed``. Call after the writer has closed."""
        await self._pool.close()

    def __call__(self, text: str) -> Excerpt:
        try:
            return Excerpt(text=self._ask(window(text, self._limit)))
        except TimeoutError:
            return Excerpt(omitted="timeout")
        except (_Unavailable, concurrent.futures.CancelledError):  # not started, or cancelled by the shutdown
            return Excerpt(omitted="unavailable")
        except GuardrailFailure:  # the worker raised, died, or the pool is shut down
            return Excerpt(omitted="failed")
        except Exception as exc:  # noqa: BLE001 - the writer must keep writing whatever went wrong here
            # The type only: a message could quote the text.
            log.warning("audit excerpt failed", extra={"error": type(exc).__name__})
            return Excerpt(omitted="failed")

    def _ask(self, text: str) -> str:
        loop = self._loop
        if loop is None or loop.is_closed():
            raise _Unavailable
        future = asyncio.run_coroutine_threadsafe(self._pool.call(HANDLER_KEY, text), loop)
        try:
            redacted = future.result(self._timeout_s)
        except TimeoutError:
            future.cancel()  # the pool lets the worker finish, or replaces it if it takes too long
            raise
        if not isinstance(redacted, str):
            raise TypeError(f"the excerpt worker answered a {type(redacted).__name__}")
        return redacted


class _Unavailable(Exception):
    """No event loop to reach the worker through: not started yet, or past shutdown."""
