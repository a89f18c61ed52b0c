"""Worker processes for GIL-bound guardrail work, owned by the composition root.

One pool serves every guardrail and survives policy reloads: a reload only
loads new handlers into the workers it already has, so hot reload never
respawns processes. Workers start on the first ``prepare`` (so a policy
without such guardrails costs no memory) and each loads every handler before
it takes requests, which is how start-up and reload warm them.

A worker that dies (crash, OOM kill) fails the one request it was serving
with ``GuardrailFailure``, so the guardrail's ``on_error`` applies, and is
replaced in the background. A request abandoned by its caller (timeout) lets
the worker finish; one that takes longer than ``drain_timeout_s`` more gets
the worker killed and replaced, so a pathological input cannot pin a core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from guardd.errors import GuardrailFailure
from guardd.workers.frames import encode, read_async
from guardd.workers.worker import Factory, go_offline

log = logging.getLogger(__name__)

MAX_PROCESSES = 64


def default_processes() -> int:
    """One worker per CPU this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(eq=False)
class _Worker:
    """One worker process and the parent's end of its socket pair."""

    process: subprocess.Popen[bytes]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    loaded: set[str] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ask(self, op: str, key: str, argument: object) -> Any:  # noqa: ANN401 - the handler decides
        self.writer.write(encode((op, key, argument)))
        await self.writer.drain()
        status, value = await read_async(self.reader)
        if status != "ok":
            raise WorkerError(value)
        return value

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.writer.close()


class WorkerError(Exception):
    """A handler raised inside a worker; the message is the worker's."""


class WorkerPool:
    """A fixed set of worker processes that call named handlers off the event loop."""

    def __init__(
        self, processes: int | None = None, *, drain_timeout_s: float = 5.0, load_timeout_s: float = 300.0
    ) -> None:
        self._target = min(processes or default_processes(), MAX_PROCESSES)
        self._drain_timeout_s = drain_timeout_s
        self._load_timeout_s = load_timeout_s
        self._factories: dict[str, Factory] = {}
        self._workers: list[_Worker] = []
        # Last in, first out: at light load one worker takes every request and stays cache-warm. Round-robin
        # over two workers cost 0.6 ms (3.7 -> 4.2 ms) per 1 KB PII analysis here (benchmarks/README.md).
        self._idle: asyncio.Queue[_Worker] = asyncio.LifoQueue()
        self._admin = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def pids(self) -> tuple[int, ...]:
        """Process ids of the live workers (for tests and RSS accounting)."""
        return tuple(w.pid for w in self._workers)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the loop so policy builds in other threads can use ``prepare_from_thread``."""
        self._loop = loop

    def prepare_from_thread(self, key: str, factory: Factory, processes: int | None = None) -> None:
        """``prepare`` from a policy-build thread; ``ValueError`` if the handler cannot be built."""
        if self._loop is None:
            raise RuntimeError("WorkerPool.bind(loop) was not called")
        asyncio.run_coroutine_threadsafe(self.prepare(key, factory, processes), self._loop).result()

    async def prepare(self, key: str, factory: Factory, processes: int | None = None) -> None:
        """Start workers if needed and load ``factory()`` as ``key`` into every one of them."""
        async with self._admin:
            if processes is not None:
                # The first handler sizes a pool that has not started yet; afterwards it can only grow,
                # because retiring a worker mid-reload would cost the requests it is serving.
                wanted = min(processes, MAX_PROCESSES)
                self._target = max(self._target, wanted) if self._workers else wanted
            missing = self._target - len(self._workers)
            spawned = await asyncio.gather(*(self._spawn() for _ in range(missing)), return_exceptions=True)
            for outcome in spawned:  # keep the ones that started even if another failed
                if isinstance(outcome, _Worker):
                    self._join(outcome)
            failures = [outcome for outcome in spawned if isinstance(outcome, BaseException)]
            if failures:
                raise failures[0]
            if key in self._factories:
                return
            try:
                async with asyncio.timeout(self._load_timeout_s):
                    await self._load_everywhere(key, factory)
            except TimeoutError:
                raise OSError(f"workers did not load the handler within {self._load_timeout_s:.0f} s") from None
            self._factories[key] = factory

    async def _load_everywhere(self, key: str, factory: Factory) -> None:
        # Take every worker out of service in turn (waiting for its current request) to load the handler.
        pending = set(self._workers)
        # Workers that have it already wait aside until a pending one frees up: put back on a LIFO queue,
        # one would come straight out again. So for at most one request's time, they do not serve.
        aside: list[_Worker] = []
        try:
            # A worker that died meanwhile drops out: its replacement loads every handler before serving.
            while pending := pending & set(self._workers):
                worker = await self._idle.get()
                if worker not in pending:
                    aside.append(worker)
                    continue
                self._release(aside)
                try:
                    await self._load(worker, key, factory)
                except (asyncio.IncompleteReadError, ConnectionError):
                    self._replace(worker)
                    raise OSError(f"worker process {worker.pid} died while loading; see its log") from None
                except BaseException:
                    self._idle.put_nowait(worker)
                    raise
                pending.discard(worker)
                aside.append(worker)
        finally:
            self._release(aside)

    def _release(self, workers: list[_Worker]) -> None:
        while workers:
            self._idle.put_nowait(workers.pop())

    @staticmethod
    async def _load(worker: _Worker, key: str, factory: Factory) -> None:
        try:
            await worker.ask("load", key, factory)
        except WorkerError as exc:
            raise ValueError(str(exc)) from None
        worker.loaded.add(key)

    async def call(self, key: str, payload: object) -> Any:  # noqa: ANN401 - the handler decides
        """Run handler ``key`` on ``payload`` in a worker; ``GuardrailFailure`` if that cannot be done."""
        if self._closed:
            raise GuardrailFailure("worker pool is shut down")
        worker = await self._idle.get()
        try:
            result = await worker.ask("call", key, payload)
        except asyncio.CancelledError:
            self._own(self._drain(worker))
            raise
        except WorkerError as exc:
            self._idle.put_nowait(worker)
            raise GuardrailFailure(f"worker error: {exc}") from None
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self._replace(worker)
            code = worker.process.poll()
            raise GuardrailFailure(f"worker process {worker.pid} died (exit code {code}); replacing it") from exc
        self._idle.put_nowait(worker)
        return result

    async def _drain(self, worker: _Worker) -> None:
        """Wait for the reply nobody wants any more; a worker that takes too long is replaced."""
        try:
            async with asyncio.timeout(self._drain_timeout_s):
                await read_async(worker.reader)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            self._replace(worker)
            return
        self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        if worker in self._workers:
            self._workers.remove(worker)
        log.warning("worker replaced", extra={"pid": worker.pid, "exit_code": worker.process.poll()})
        self._own(self._respawn(worker))

    async def _respawn(self, dead: _Worker) -> None:
        await asyncio.to_thread(dead.process.wait)  # reap it (SIGKILLed: immediate) so no zombie stays
        async with self._admin:
            if self._closed or len(self._workers) >= self._target:
                return
            try:
                worker = await self._spawn()
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                log.error("cannot replace worker", extra={"error": str(exc)})  # noqa: TRY400 - no traceback needed
                return
            self._join(worker)

    async def _spawn(self) -> _Worker:
        go_offline()  # the child inherits the environment before its first import
        parent, child = socket.socketpair()
        # A fresh interpreter, not fork: forking would copy gRPC's threads and locks mid-flight.
        command = [sys.executable, "-m", "guardd.workers.worker", str(child.fileno())]
        try:
            process = await asyncio.to_thread(subprocess.Popen, command, pass_fds=(child.fileno(),))
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = _Worker(process, reader, writer)
        try:
            for key, factory in self._factories.items():
                await self._load(worker, key, factory)
        except BaseException:
            worker.kill()
            raise
        log.info("worker started", extra={"pid": worker.pid, "handlers": len(self._factories)})
        return worker

    def _join(self, worker: _Worker) -> None:
        self._workers.append(worker)
        self._idle.put_nowait(worker)

    def _own(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every worker; in-flight calls fail with ``GuardrailFailure``."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.writer.close()  # EOF: the worker's loop ends and it exits
        await asyncio.to_thread(_join_all, workers)


def _join_all(workers: list[_Worker]) -> None:
    for worker in workers:
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=5)
