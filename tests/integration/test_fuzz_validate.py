"""Hostile ValidateRequests against a real guardd: no crash, no hang past the deadline, canonical statuses only.

CI runs a bounded number of examples; a long run:
``GUARDD_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/integration/test_fuzz_validate.py -o timeout=3600``.
"""

from __future__ import annotations

import json
import os
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guardd.v1 import guard_pb2 as pb
from guardd_harness import ROOT, launch

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("GUARDD_FUZZ_EXAMPLES", "75"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
DEADLINE_S = 5.0
SLACK_S = 1.0
# What a client may see; INTERNAL or UNKNOWN means guardd failed in a way it did not mean to.
CANONICAL = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAVAILABLE,
}

# Any code point protobuf can carry (no surrogates), control characters included.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=600)
short = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


def _nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"answer": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


nested_json = st.builds(_nested, st.integers(1, 20_000), st.sampled_from(["array", "object"]))
json_like = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | short,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(short, inner, max_size=5),
    max_leaves=30,
).map(lambda value: json.dumps({"answer": value}, ensure_ascii=False))

requests = st.builds(
    pb.ValidateRequest,
    request_id=short,
    policy=st.sampled_from(["", "default", "nope", "../../etc/passwd"]) | short,
    stage=st.sampled_from([0, 1, 2, 3, 99, -1]),
    text=texts | nested_json | json_like | st.just("A" * 70_000),
    prompt=texts,
    context=st.lists(texts, max_size=8),
    upstream=short | st.just("u" * 300),
    labels=st.dictionaries(short, short, max_size=20) | st.just({f"k{i}": "v" * 10 for i in range(3000)}),
)


@pytest.fixture(scope="module")
def server():
    proc = launch(ROOT / "benchmarks/policies/full-offline.yaml")
    yield proc
    assert proc.process.poll() is None, "guardd died during the fuzz run"
    health = health_pb2_grpc.HealthStub(proc.channel()).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    proc.stop()


def _check_error(exc: grpc.RpcError) -> None:
    assert exc.code() in CANONICAL, (exc.code(), exc.details())
    assert exc.details(), "every error must carry a message a person can act on"


@FUZZ
@given(request=requests)
@example(request=pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=_nested(30_000, "array")))
@example(request=pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=_nested(9_000, "object")))
@example(request=pb.ValidateRequest(stage=pb.STAGE_INPUT, text="\x00\x07\x1b[2J\u202e\ufeff", labels={"\x00": "\x7f"}))
def test_validate_answers_or_fails_canonically(server, request):
    start = time.monotonic()
    try:
        response = server.stub().Validate(request, timeout=DEADLINE_S)
    except grpc.RpcError as exc:
        _check_error(exc)
    else:
        assert response.verdict in {pb.VERDICT_ALLOW, pb.VERDICT_MODIFY, pb.VERDICT_FLAG, pb.VERDICT_BLOCK}
    assert time.monotonic() - start < DEADLINE_S + SLACK_S


@FUZZ
@given(first=requests, chunks=st.lists(texts | nested_json, max_size=6), skip_request=st.booleans())
def test_validate_stream_answers_or_fails_canonically(server, first, chunks, skip_request):
    messages = [] if skip_request else [pb.ValidateStreamRequest(request=first)]
    messages += [pb.ValidateStreamRequest(text_chunk=chunk) for chunk in chunks]
    start = time.monotonic()
    try:
        responses = list(server.stub().ValidateStream(iter(messages), timeout=DEADLINE_S))
    except grpc.RpcError as exc:
        _check_error(exc)
    else:
        assert responses
        assert responses[-1].final
    assert time.monotonic() - start < DEADLINE_S + SLACK_S


@FUZZ
@given(frame=st.binary(max_size=300))
def test_undecodable_frames_are_invalid_argument(server, frame):
    call = server.channel().unary_unary("/guardd.v1.Guard/Validate")
    try:
        call(frame, timeout=DEADLINE_S)
    except grpc.RpcError as exc:
        _check_error(exc)
