"""ReportOutcome requests: bad input gets INVALID_ARGUMENT with a message that says what to fix."""

import math

import pytest

from guardd.errors import InvalidArgument
from guardd.slo.report import MAX_LABELS, outcome_from
from guardd.v1 import guard_pb2 as pb


def _request(**fields):
    base = {"request_id": "r1", "upstream": "openai/gpt-4o", "status_code": 200, "latency_ms": 120.0}
    return pb.ReportOutcomeRequest(**{**base, **fields})


def test_a_good_report_is_classified_and_keeps_its_figures():
    outcome = outcome_from(_request(ttft_ms=40, input_tokens=10, output_tokens=5, cost_usd=0.002), "default")
    assert (outcome.category, outcome.policy, outcome.upstream) == ("ok", "default", "openai/gpt-4o")
    assert (outcome.latency_ms, outcome.ttft_ms, outcome.cost_usd) == (120.0, 40.0, 0.002)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"upstream": ""}, "upstream is required"),
        ({"upstream": "  "}, "upstream is required"),
        ({"upstream": "u" * 300}, "upstream is 300 characters"),
        ({"request_id": "r" * 300}, "request_id is 300 characters"),
        ({"latency_ms": -1.0}, "latency_ms is -1.0"),
        ({"latency_ms": math.nan}, "latency_ms is nan"),
        ({"latency_ms": math.inf}, "latency_ms is inf"),
        ({"latency_ms": 1e12}, "latency_ms is 1000000000000.0"),
        ({"ttft_ms": -5.0}, "ttft_ms is -5.0"),
        ({"ttft_ms": 500.0}, "ttft_ms (500.0) is greater than latency_ms (120.0)"),
        ({"status_code": 777}, "status_code 777 is not an HTTP status"),
        ({"status_code": -1}, "status_code -1 is not an HTTP status"),
        ({"error_type": "cosmic_ray"}, "unknown error_type 'cosmic_ray'; leave it empty or use one of:"),
        ({"input_tokens": -3}, "input_tokens is -3"),
        ({"cost_usd": -0.5}, "cost_usd is -0.5"),
        ({"labels": {f"k{i}": "v" for i in range(MAX_LABELS + 1)}}, f"labels has {MAX_LABELS + 1} entries"),
        ({"labels": {"k": "v" * 1000}}, "label 'k'"),
    ],
)
def test_bad_input_is_rejected_with_an_actionable_message(fields, message):
    with pytest.raises(InvalidArgument, match="^" + _escape(message)):
        outcome_from(_request(**fields), "default")


def _escape(text):
    import re  # noqa: PLC0415

    return re.escape(text)


def test_status_0_with_no_error_type_is_a_network_failure():
    assert outcome_from(_request(status_code=0), "default").category == "network"


def test_ttft_without_total_latency_is_accepted():
    # A streaming client may know when the first token came but not report the total.
    assert outcome_from(_request(latency_ms=0, ttft_ms=80), "default").ttft_ms == 80
