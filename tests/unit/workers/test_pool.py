"""The worker pool with real spawned processes and stdlib handlers (picklable by reference)."""

import asyncio
import functools
import operator
import os
import signal
import time

import pytest

from guardd.errors import GuardrailFailure
from guardd.workers.pool import WorkerPool, default_processes

UPPER = functools.partial(operator.methodcaller, "upper")
"""factory() → methodcaller("upper"): the handler upper-cases its payload."""
SLEEP = functools.partial(functools.partial, time.sleep)
"""factory() → partial(time.sleep): the handler sleeps for its payload in seconds."""
INDEX_5 = functools.partial(operator.itemgetter, 5)
"""factory() → itemgetter(5): raises IndexError on a short payload."""
WHOAMI = functools.partial(functools.partial, os.readlink)
"""factory() → partial(os.readlink): called on ``/proc/self``, the handler names its worker's pid."""
BROKEN = functools.partial(int, "not a number")
"""factory() raises ValueError: a handler that cannot be built."""


def run(coro):
    return asyncio.run(coro)


async def _pool(processes=1, **kwargs):
    pool = WorkerPool(processes, **kwargs)
    pool.bind(asyncio.get_running_loop())
    await pool.prepare("upper", UPPER)
    await pool.prepare("sleep", SLEEP)
    return pool


def test_calls_run_in_other_processes():
    async def scenario():
        pool = await _pool(processes=2)
        try:
            assert len(pool.pids) == 2
            assert os.getpid() not in pool.pids
            results = await asyncio.gather(*(pool.call("upper", f"x{i}") for i in range(10)))
            assert results == [f"X{i}" for i in range(10)]
        finally:
            await pool.close()

    run(scenario())


def test_a_handler_error_is_a_guardrail_failure_and_the_worker_stays():
    async def scenario():
        pool = await _pool()
        await pool.prepare("index", INDEX_5)
        pids = pool.pids
        try:
            with pytest.raises(GuardrailFailure, match="IndexError"):
                await pool.call("index", "abc")
            assert await pool.call("upper", "ok") == "OK"
            assert pool.pids == pids
        finally:
            await pool.close()

    run(scenario())


def test_a_handler_that_cannot_be_built_is_a_value_error():
    async def scenario():
        pool = await _pool()
        try:
            with pytest.raises(ValueError, match="invalid literal"):
                await pool.prepare("broken", BROKEN)
            assert await pool.call("upper", "still fine") == "STILL FINE"
        finally:
            await pool.close()

    run(scenario())


def test_a_worker_killed_mid_call_fails_that_call_and_is_replaced():
    async def scenario():
        pool = await _pool()
        (pid,) = pool.pids
        try:
            call = asyncio.create_task(pool.call("sleep", 30))
            await asyncio.sleep(0)  # the request is on its way to the worker
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(GuardrailFailure, match="died"):
                await call
            # The next call waits for the replacement, which has every handler loaded.
            assert await pool.call("upper", "again") == "AGAIN"
            assert len(pool.pids) == 1
            assert pool.pids != (pid,)
        finally:
            await pool.close()

    run(scenario())


def test_an_abandoned_call_lets_the_worker_finish_and_serve_again():
    async def scenario():
        pool = await _pool(drain_timeout_s=30)
        pids = pool.pids
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await pool.call("sleep", 0.3)
            assert await pool.call("upper", "next") == "NEXT"
            assert pool.pids == pids
        finally:
            await pool.close()

    run(scenario())


def test_a_worker_stuck_past_the_drain_timeout_is_replaced():
    async def scenario():
        pool = await _pool(drain_timeout_s=0.1)
        pids = pool.pids
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await pool.call("sleep", 60)
            assert await pool.call("upper", "fresh") == "FRESH"
            assert pool.pids != pids
        finally:
            await pool.close()

    run(scenario())


def test_at_light_load_the_last_worker_to_finish_takes_the_next_call():
    async def scenario():
        pool = await _pool(processes=2)
        await pool.prepare("whoami", WHOAMI)
        try:
            # One warm worker rather than round-robin over cold ones; a busy one hands over to the other.
            serial = {int(await pool.call("whoami", "/proc/self")) for _ in range(20)}
            assert len(serial) == 1
            sleeping = asyncio.ensure_future(pool.call("sleep", 0.5))
            await asyncio.sleep(0.1)
            other = int(await pool.call("whoami", "/proc/self"))
            await sleeping
            assert set(pool.pids) == serial | {other}
        finally:
            await pool.close()

    run(scenario())


def test_prepare_grows_the_pool_and_loading_twice_is_free():
    async def scenario():
        pool = await _pool(processes=1)
        try:
            await pool.prepare("upper", UPPER, processes=2)
            assert len(pool.pids) == 2
            assert await asyncio.gather(pool.call("upper", "a"), pool.call("upper", "b")) == ["A", "B"]
        finally:
            await pool.close()

    run(scenario())


def test_close_stops_the_workers_and_later_calls_fail():
    async def scenario():
        pool = await _pool()
        (pid,) = pool.pids
        await pool.close()
        with pytest.raises(GuardrailFailure, match="shut down"):
            await pool.call("upper", "x")
        return pid

    pid = run(scenario())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_default_size_is_the_cpu_count():
    assert default_processes() == len(os.sched_getaffinity(0))
