"""The Redis store's primitives against the real Redis on 127.0.0.1:6379, each test under its own key prefix."""

import asyncio
import uuid

import pytest
import redis
from circuit_fakes import FakeClock

from guardd.circuit.config import StoreConfig
from guardd.circuit.machine import SharedState
from guardd.circuit.redis_store import RedisStore
from guardd.circuit.window import Sample, Tally

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    name = f"guardd-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def store(prefix, replica="r1", **settings):
    return RedisStore(StoreConfig(url=URL, prefix=prefix, **settings), FakeClock(), replica)


async def test_cas_writes_once_per_generation(prefix):
    a, b = store(prefix, "a"), store(prefix, "b")
    opened = SharedState().successor("open", "failure_rate", "x", 60_000)
    first = await a.cas("u", 0, opened)
    second = await b.cas("u", 0, opened)
    assert first.state is not None
    assert first.state.generation == 1
    assert second.state is None
    assert (await b.load(["u"]))["u"].state == "open"
    await a.close()
    await b.close()


async def test_half_open_waits_for_the_redis_ttl(prefix):
    s = store(prefix)
    opened = await s.cas("u", 0, SharedState().successor("open", "failure_rate", "x", 150))
    assert opened.state is not None
    early = await s.cas("u", 1, opened.state.successor("half_open", "open_elapsed", ""), after_open=True)
    assert early.state is None
    assert 0 < early.wait_ms <= 150
    await asyncio.sleep(0.2)
    late = await s.cas("u", 1, opened.state.successor("half_open", "open_elapsed", ""), after_open=True)
    assert late.state is not None
    assert late.state.state == "half_open"
    await s.close()


async def test_each_probe_slot_has_one_winner(prefix):
    stores = [store(prefix, f"r{i}") for i in range(4)]
    claims = await asyncio.gather(*(s.claim_probe("u", 7, 3, 10_000) for s in stores for _ in range(3)))
    assert claims.count(True) == 3
    for s in stores:
        await s.close()


async def test_fleet_tally_sums_live_replicas_of_the_current_generation(prefix):
    a, b = store(prefix, "a"), store(prefix, "b")
    mine = Tally({"calls.output": 10, "refusal": 10})
    await b.fleet_tally("u", 2, Tally({"calls.output": 30}))
    await b.fleet_tally("u", 1, Tally({"calls.output": 99}))  # b's window of an older state replaces its newer one
    fleet = await a.fleet_tally("u", 2, mine)
    assert fleet.counts == {"calls.output": 10, "refusal": 10}
    await b.fleet_tally("u", 2, Tally({"calls.output": 30}))
    fleet = await a.fleet_tally("u", 2, mine)
    assert fleet.rate("refusal") == 0.25
    await a.close()
    await b.close()


async def test_probe_outcomes_are_counted_fleet_wide(prefix):
    a, b = store(prefix, "a"), store(prefix, "b")
    await a.add_probe("u", 3, Sample("output", frozenset({"refusal", "soft"})))
    tally = await b.add_probe("u", 3, Sample("output"))
    assert tally.counts == {"calls.output": 2, "refusal": 1, "soft": 1}
    await a.close()
    await b.close()


async def test_an_unreachable_store_falls_back_to_local_decisions(prefix):
    class Listener:
        def __init__(self):
            self.up = []

        def apply(self, upstream, state, via):
            pass

        def store_up(self, *, up):
            self.up.append(up)

    s = RedisStore(StoreConfig(url="redis://127.0.0.1:1/0", prefix=prefix, op_timeout=0.1), FakeClock(), "r")
    listener = Listener()
    await s.start(listener)
    result = await s.cas("u", 0, SharedState().successor("open", "failure_rate", "x", 1000))
    assert result.state is not None
    assert result.state.generation == 1
    assert listener.up == [False]
    assert not s.up
    await s.close()
