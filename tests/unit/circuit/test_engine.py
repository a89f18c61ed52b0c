"""The breaker engine on the memory store, time moved by the test."""

import pytest

from guardd.circuit.machine import SharedState
from guardd.circuit.store import CasResult
from guardd.v1 import guard_pb2 as pb

BREAKER = {
    "window": 10,
    "min_calls": 4,
    "thresholds": {"refusal": 0.5, "hard": 0.5},
    "open_for": "5s",
    "half_open_calls": 2,
    "backoff": 2,
    "max_open_for": "15s",
}


@pytest.fixture
def h(harness_factory):
    return harness_factory({"default": BREAKER})


async def trip(h, upstream="u"):
    for _ in range(4):
        await h.output(upstream, "refusal")


async def test_opens_at_min_calls_when_the_soft_rate_is_over_threshold(h):
    for _ in range(3):
        await h.output("u", "refusal")
    assert h.state("u") == "closed"
    await h.output("u", "refusal")
    circuit = h.breakers.circuit("u")
    assert circuit.state == pb.CIRCUIT_STATE_OPEN
    assert not circuit.allow_request
    assert "refusal rate 1.00" in circuit.reason
    assert (
        h.metric(
            "guardd_circuit_transitions_total", upstream="u", **{"from": "closed"}, to="open", reason="failure_rate"
        )
        == 1
    )


async def test_a_trip_that_lost_its_compare_and_set_is_retried_without_new_outcomes(h):
    real = h.breakers.store.cas
    attempts = []

    async def lose_the_first(*args, **kwargs):
        attempts.append(args)
        return CasResult(None) if len(attempts) == 1 else await real(*args, **kwargs)

    h.breakers.store.cas = lose_the_first
    await trip(h)
    assert h.state("u") == "closed"  # the only trip so far lost its race
    await h.advance(0.1)  # no outcome arrives (a provider that is down may send none); the tick retries
    assert h.state("u") == "open"
    assert len(attempts) == 2


async def test_rates_below_threshold_stay_closed(h):
    for failures in [("refusal",), (), (), (), (), ()]:
        await h.output("u", *failures)
    assert h.state("u") == "closed"
    assert h.breakers.circuit("u").failure_rates["refusal"] == pytest.approx(1 / 6)


async def test_the_count_window_forgets_old_calls(h):
    for _ in range(10):
        await h.output("u")
    for _ in range(4):
        await h.output("u", "refusal")
    assert h.state("u") == "closed"  # 4 of the last 10
    await h.output("u", "refusal")
    assert h.state("u") == "open"  # 5 of the last 10; over all 15 calls it would be 1/3


async def test_hard_failures_come_from_outcomes_and_have_their_own_denominator(h):
    for _ in range(10):
        await h.output("u")  # verdicts do not dilute the outcome stream
    for category in ["timeout", "server_error", "ok", "rate_limit"]:
        await h.outcome("u", category)
    assert h.state("u") == "open"
    assert "hard rate 0.75" in h.breakers.circuit("u").reason


async def test_slow_calls_trip_on_their_rate(harness_factory):
    h = harness_factory(
        {"default": {**BREAKER, "thresholds": {"hard": 1.0}, "slow_call_ms": 1000, "slow_call_rate": 0.5}}
    )
    for latency in [1500, 2000, 10, 1200]:
        await h.outcome("u", "ok", latency)
    assert h.state("u") == "open"
    assert "slow rate 0.75" in h.breakers.circuit("u").reason


async def test_open_for_elapses_into_half_open_with_exactly_n_probes(h):
    await trip(h)
    await h.advance(4.9)
    assert h.state("u") == "open"
    await h.advance(0.1)
    assert h.state("u") == "half_open"
    allowed = []
    for _ in range(6):
        allowed.append(h.breakers.admit("u").allow_request)
        await h.breakers.settle()
    assert allowed.count(True) == 2
    assert not h.breakers.circuit("u").allow_request  # a read never takes a probe


async def test_passing_probes_close_and_reset_the_backoff(h):
    await trip(h)
    await h.advance(5)
    await h.output("u")
    assert h.state("u") == "half_open"
    await h.output("u")
    assert h.state("u") == "closed"
    assert h.breakers.tracked["u"].shared.kind == "probes_passed"
    await trip(h)
    assert h.breakers.tracked["u"].shared.open_ms == 5000


async def test_failing_probes_reopen_for_longer_up_to_the_cap(h):
    await trip(h)
    durations = []
    for _ in range(3):
        await h.advance(h.breakers.tracked["u"].shared.open_ms / 1000)
        await h.output("u", "refusal")
        await h.output("u")
        durations.append(h.breakers.tracked["u"].shared.open_ms)
        assert h.state("u") == "open"
    assert durations == [10000, 15000, 15000]


async def test_outcomes_while_open_are_ignored(h):
    await trip(h)
    for _ in range(20):
        await h.output("u")
    assert h.state("u") == "open"


async def test_forced_open_and_disabled_overrides_then_none(h):
    tracked = h.breakers.track("u")
    circuit = await h.breakers.set_override(tracked, "forced_open", "incident 42")
    assert (circuit.state, circuit.allow_request, circuit.reason) == (
        pb.CIRCUIT_STATE_FORCED_OPEN,
        False,
        "incident 42",
    )
    circuit = await h.breakers.set_override(tracked, "disabled", "")
    assert circuit.state == pb.CIRCUIT_STATE_DISABLED
    assert circuit.allow_request
    await trip(h)
    assert h.state("u") == "disabled"
    circuit = await h.breakers.set_override(tracked, "none", "")
    assert circuit.state == pb.CIRCUIT_STATE_CLOSED
    assert circuit.generation == 3


async def test_a_policy_override_beats_the_shared_state(harness_factory):
    h = harness_factory({"default": BREAKER, "upstreams": {"bad/model": {"override": "forced_open"}}})
    circuit = h.breakers.circuit("bad/model")
    assert (circuit.state, circuit.reason) == (pb.CIRCUIT_STATE_FORCED_OPEN, "set by policy")
    assert h.breakers.circuit("other").state == pb.CIRCUIT_STATE_CLOSED


async def test_upstreams_past_the_cap_are_not_tracked(harness_factory):
    h = harness_factory({"default": BREAKER, "max_upstreams": 2})
    assert h.breakers.circuit("a") is not None
    assert h.breakers.circuit("b") is not None
    assert h.breakers.circuit("c") is None
    await h.output("c", "refusal")
    assert set(h.breakers.tracked) == {"a", "b"}
    assert h.metric("guardd_circuit_untracked_total") == 2


async def test_disabled_breakers_track_nothing(harness_factory):
    h = harness_factory({"enabled": False})
    assert h.breakers.circuit("u") is None


async def test_state_metric_shows_one_state(h):
    await trip(h)
    assert h.metric("guardd_circuit_state", upstream="u", state="open") == 1
    assert h.metric("guardd_circuit_state", upstream="u", state="closed") == 0


async def test_watchers_get_a_snapshot_then_changes(h):
    h.breakers.track("u")
    watch, snapshot = h.breakers.watch(frozenset({"u", "v"}))
    assert sorted(c.upstream for c in snapshot) == ["u", "v"]
    await trip(h)
    change = watch.queue.get_nowait()
    assert (change.upstream, change.state) == ("u", pb.CIRCUIT_STATE_OPEN)
    await trip(h, "elsewhere")
    assert watch.queue.empty()


async def test_stale_and_equal_generation_states(h):
    h.breakers.track("u")
    h.breakers.apply("u", SharedState("closed", 3), "pubsub")
    h.breakers.apply("u", SharedState("open", 2, open_ms=1000), "pubsub")
    assert h.state("u") == "closed"
    h.breakers.apply("u", SharedState("open", 3, open_ms=1000), "pubsub")
    assert h.state("u") == "open"  # OPEN wins over CLOSED at one generation
    h.breakers.apply("u", SharedState("closed", 3), "pubsub")
    assert h.state("u") == "open"
