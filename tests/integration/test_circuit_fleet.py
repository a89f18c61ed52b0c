"""Several guardd replicas sharing breakers through the Redis on 127.0.0.1:6379 (own key prefix per test)."""

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import redis
from circuit_helpers import (
    ANSWER,
    REFUSAL,
    UPSTREAM,
    admit,
    circuit_policy,
    drop_keys,
    get,
    new_prefix,
    output,
    poll,
    wait_for_state,
    watching,
)

from guardd.v1 import guard_pb2 as pb

pytestmark = pytest.mark.integration
URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def fleet(guardd, tmp_path):
    prefix = new_prefix()

    def start(count=3, **policy):
        path = circuit_policy(tmp_path / "policy.yaml", URL, prefix, **policy)
        return [guardd(path) for _ in range(count)]

    start.prefix = prefix
    yield start
    drop_keys(URL, prefix)


def test_a_trip_on_one_replica_reaches_the_others_through_watch(fleet):
    first, *others = fleet()
    with watching(others[0]) as one, watching(others[1]) as two:
        wait_for_state(one, pb.CIRCUIT_STATE_CLOSED)
        wait_for_state(two, pb.CIRCUIT_STATE_CLOSED)
        responses = [output(first, REFUSAL) for _ in range(4)]
        assert all(r.verdict == pb.VERDICT_FLAG for r in responses)
        opened = [wait_for_state(one, pb.CIRCUIT_STATE_OPEN), wait_for_state(two, pb.CIRCUIT_STATE_OPEN)]
    assert {c.generation for c in opened} == {1}
    assert "refusal rate" in opened[0].reason
    for server in others:
        response = admit(server)
        assert response.circuit.state == pb.CIRCUIT_STATE_OPEN
        assert not response.circuit.allow_request


def test_hard_failures_reported_through_report_outcome_trip_the_fleet(fleet):
    first, second = fleet(2)
    with watching(second) as watch:
        for status in (503, 503, 200, 429):
            request = pb.ReportOutcomeRequest(upstream=UPSTREAM, status_code=status, latency_ms=100)
            first.stub().ReportOutcome(request, timeout=10)
        wait_for_state(watch, pb.CIRCUIT_STATE_OPEN)
    assert "hard rate 0.75" in get(second).reason


def test_exactly_n_half_open_probes_across_the_fleet(fleet):
    servers = fleet(3, open_for="1s")
    with watching(servers[2]) as watch:
        for _ in range(4):
            output(servers[0], REFUSAL)
        wait_for_state(watch, pb.CIRCUIT_STATE_OPEN)
        wait_for_state(watch, pb.CIRCUIT_STATE_HALF_OPEN)
        poll(lambda: all(get(s).state == pb.CIRCUIT_STATE_HALF_OPEN for s in servers))
        with ThreadPoolExecutor(12) as pool:
            callers = list(pool.map(lambda i: admit(servers[i % 3]), range(60)))
        allowed = [r for r in callers if r.circuit.allow_request]
        assert len(allowed) == 2
        late = [admit(s) for s in servers for _ in range(5)]
        assert not any(r.circuit.allow_request for r in late)
        output(servers[1], ANSWER)
        output(servers[2], ANSWER)
        wait_for_state(watch, pb.CIRCUIT_STATE_CLOSED)
    assert all(admit(s).circuit.allow_request for s in servers)


def test_operator_override_reaches_every_replica(fleet):
    first, second, third = fleet()
    with watching(second) as watch:
        wait_for_state(watch, pb.CIRCUIT_STATE_CLOSED)
        request = pb.SetCircuitOverrideRequest(upstream=UPSTREAM, override=pb.OVERRIDE_FORCED_OPEN, reason="incident 7")
        forced = first.stub().SetCircuitOverride(request, timeout=10).circuit
        assert (forced.state, forced.reason) == (pb.CIRCUIT_STATE_FORCED_OPEN, "incident 7")
        assert wait_for_state(watch, pb.CIRCUIT_STATE_FORCED_OPEN).reason == "incident 7"
        poll(lambda: admit(third).circuit.state == pb.CIRCUIT_STATE_FORCED_OPEN)
        assert not admit(third).circuit.allow_request
        first.stub().SetCircuitOverride(pb.SetCircuitOverrideRequest(upstream=UPSTREAM, override=pb.OVERRIDE_NONE))
        wait_for_state(watch, pb.CIRCUIT_STATE_CLOSED)


def test_one_replica_cannot_open_the_breaker_against_the_fleets_counts(fleet):
    bad, *good = fleet()
    for server in good:
        for _ in range(10):
            output(server, ANSWER)
    client = redis.Redis.from_url(URL)
    poll(lambda: len(list(client.scan_iter(f"{fleet.prefix}:w:{UPSTREAM}:*"))) == 2)
    client.close()
    mark = len(bad.logs)
    for _ in range(4):
        output(bad, REFUSAL)
    bad.wait_for_log("circuit trip declined by the fleet's counts", timeout=30, after=mark)
    assert [get(s).state for s in (bad, *good)] == [pb.CIRCUIT_STATE_CLOSED] * 3


def test_a_dropped_pubsub_message_is_repaired_by_reconcile(fleet):
    first, second = fleet(2)
    with watching(second) as watch:
        wait_for_state(watch, pb.CIRCUIT_STATE_CLOSED)
        # A transition written exactly as the CAS script writes it, minus the PUBLISH: the message is lost.
        client = redis.Redis.from_url(URL)
        now_ms = int(float(".".join(map(str, client.time()))) * 1000)
        key = f"{fleet.prefix}:c:{UPSTREAM}"
        client.hset(
            key,
            mapping={
                "state": "open",
                "gen": 5,
                "reason": "lost",
                "kind": "failure_rate",
                "changed_at": now_ms,
                "open_ms": 60000,
            },
        )
        client.set(f"{fleet.prefix}:t:{UPSTREAM}", 1, px=60000)
        client.sadd(f"{fleet.prefix}:upstreams", UPSTREAM)
        client.close()
        repaired = wait_for_state(watch, pb.CIRCUIT_STATE_OPEN)
    assert (repaired.generation, repaired.reason) == (5, "lost")
    # Each replica reconciles on its own timer: the first one repairs within its own interval, not ours.
    poll(lambda: get(first).state == pb.CIRCUIT_STATE_OPEN)
    assert 'guardd_circuit_propagation_delay_seconds_count{via="reconcile"}' in second.metrics_text()


def test_circuit_rpcs_reject_what_they_cannot_serve(fleet):
    (server,) = fleet(1)
    with pytest.raises(grpc.RpcError) as missing:
        server.stub().GetCircuit(pb.GetCircuitRequest(), timeout=10)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unset:
        server.stub().SetCircuitOverride(pb.SetCircuitOverrideRequest(upstream=UPSTREAM), timeout=10)
    assert unset.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert get(server).state == pb.CIRCUIT_STATE_CLOSED
