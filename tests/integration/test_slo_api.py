"""ReportOutcome and GetSLOStatus through the real gRPC API of a guardd process."""

import grpc
import pytest

from guardd.v1 import guard_pb2 as pb

pytestmark = pytest.mark.integration

POLICY = """\
version: 1
policies:
  default:
    output:
      - {name: grounding, type: pattern, patterns: [{name: marker, regex: UNGROUNDED, category: hallucination}], on_fail: flag}
slos:
  - {name: availability, sli: availability, objective: 0.9}
  - {name: goodput, sli: goodput, objective: 0.9}
  - {name: hallucination, sli: hallucination_free, objective: 0.9}
slo_settings: {max_upstreams: 2, join_timeout: 60s}
"""


@pytest.fixture
def server(guardd, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return guardd(path)


def _report(stub, **fields):
    base = {"request_id": "", "upstream": "openai/gpt-4o", "status_code": 200, "latency_ms": 100}
    return stub.ReportOutcome(pb.ReportOutcomeRequest(**{**base, **fields}), timeout=10)


BAD_REPORTS = [
    ({"latency_ms": -1}, "latency_ms is -1.0"),
    ({"upstream": ""}, "upstream is required"),
    ({"status_code": 999}, "status_code 999 is not an HTTP status"),
    ({"error_type": "gremlins"}, "unknown error_type 'gremlins'"),
    ({"labels": {str(i): "x" for i in range(1000)}}, "labels has 1000 entries"),
]


def test_bad_reports_are_rejected_and_good_ones_classified(server):
    stub = server.stub()
    for fields, message in BAD_REPORTS:
        with pytest.raises(grpc.RpcError) as caught:
            _report(stub, **fields)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
        assert message in caught.value.details(), fields
    with pytest.raises(grpc.RpcError) as caught:
        _report(stub, policy="nope")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "unknown policy 'nope'" in caught.value.details()
    for status, error_type, category in [(200, "", "ok"), (429, "", "rate_limit"), (0, "timeout", "timeout")]:
        assert _report(stub, status_code=status, error_type=error_type).failure_category == category
    (availability,) = stub.GetSLOStatus(pb.GetSLOStatusRequest(name="availability"), timeout=10).slos
    assert availability.sli["5m"] == pytest.approx(1 / 3)  # only the three accepted reports were counted


def test_outcomes_and_verdicts_reach_status_and_metrics(server):
    stub = server.stub()
    for index in range(4):
        _report(stub, request_id=f"j{index}", upstream="join/model", status_code=200 if index else 503)
        text = "UNGROUNDED" if index == 3 else "fine"
        request = pb.ValidateRequest(request_id=f"j{index}", stage=pb.STAGE_OUTPUT, text=text, upstream="join/model")
        stub.Validate(request, timeout=10)
    (goodput,) = stub.GetSLOStatus(pb.GetSLOStatusRequest(name="goodput", upstream="join/model"), timeout=10).slos
    assert (goodput.policy, goodput.upstream, goodput.objective) == ("default", "join/model", 0.9)
    assert goodput.sli["5m"] == pytest.approx(0.5)  # j0 failed upstream, j3 hallucinated
    assert goodput.burn_rates["5m"] == pytest.approx(5.0)
    assert goodput.error_budget_remaining == pytest.approx(-4.0)
    assert goodput.breached
    metrics = server.metrics_text()
    assert 'guardd_sli_events_total{good="false",policy="default",slo="goodput",upstream="join/model"} 2.0' in metrics
    assert (
        'guardd_sli_events_total{good="false",policy="default",slo="hallucination",upstream="join/model"} 1.0'
        in metrics
    )


def test_upstreams_beyond_max_upstreams_are_other(server):
    stub = server.stub()
    for index in range(5):
        _report(stub, upstream=f"flood/{index}")
    upstreams = {s.upstream for s in stub.GetSLOStatus(pb.GetSLOStatusRequest(name="availability"), timeout=10).slos}
    assert "other" in upstreams
    assert len(upstreams) <= 3  # two named (max_upstreams: 2) + other
    assert "guardd_slo_upstream_overflow_total" in server.metrics_text()
