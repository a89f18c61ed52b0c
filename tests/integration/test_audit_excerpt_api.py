"""``--audit-excerpt-chars`` through a real guardd: redacted excerpts in a chain that verifies, no PII anywhere."""

from __future__ import annotations

import json

import pytest

from guardd.v1 import guard_pb2 as pb
from guardd_harness import audit_verify

pytestmark = pytest.mark.integration

POLICY = """\
version: 1
policies:
  default:
    input: [{name: length, type: length, max_chars: 10000}]
    output: [{name: length, type: length, max_chars: 10000}]
"""
PROMPT = "Book a table for jane.doe@example.com and confirm on (212) 555-0199, then forget WHISPER-CODE-42"
COMPLETION = "Done: I wrote to jane.doe@example.com from 10.20.30.40 about it."
RAW_VALUES = ("jane.doe", "example.com", "555-0199", "10.20.30.40", "WHISPER-CODE")


def test_excerpts_are_redacted_chained_and_nothing_raw_is_written(guardd, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    audit = tmp_path / "audit.jsonl"
    server = guardd(policy, "--audit-log", str(audit), "--audit-excerpt-chars", "64", "--log-level", "debug")
    guard = server.stub()
    guard.Validate(pb.ValidateRequest(request_id="in", stage=pb.STAGE_INPUT, text=PROMPT), timeout=10)
    guard.Validate(pb.ValidateRequest(request_id="out", stage=pb.STAGE_OUTPUT, text=COMPLETION), timeout=10)
    assert 'guardd_audit_excerpts_omitted_total{reason="failed"} 0.0' in server.metrics_text()
    assert server.stop() == 0

    records = {r["request_id"]: r for r in map(json.loads, audit.read_text().splitlines())}
    # The 64-code-point cut falls inside the phone number: it is replaced whole, and the excerpt ends there.
    assert records["in"]["excerpt"] == "Book a table for <EMAIL_ADDRESS> and confirm on <PHONE_NUMBER>"
    assert records["out"]["excerpt"] == "Done: I wrote to <EMAIL_ADDRESS> from <IP_ADDRESS> about it."
    written = audit.read_text() + "".join(server.raw)
    assert [value for value in RAW_VALUES if value in written] == []
    verify = audit_verify(audit)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 2 records")
