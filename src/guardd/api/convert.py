"""Between protobuf messages and guardd's domain types, in one place."""

from __future__ import annotations

from guardd.errors import InvalidArgument
from guardd.guardrails.base import Stage
from guardd.pipeline.decision import Decision, Finding
from guardd.v1 import guard_pb2 as pb

STAGES: dict[int, Stage] = {pb.STAGE_INPUT: "input", pb.STAGE_OUTPUT: "output"}
VERDICTS = {"allow": pb.VERDICT_ALLOW, "modify": pb.VERDICT_MODIFY, "flag": pb.VERDICT_FLAG, "block": pb.VERDICT_BLOCK}
ACTIONS = {
    "block": pb.ACTION_BLOCK,
    "modify": pb.ACTION_MODIFY,
    "flag": pb.ACTION_FLAG,
    "fail_open": pb.ACTION_FAIL_OPEN,
    "fail_closed": pb.ACTION_FAIL_CLOSED,
}


def stage_of(value: int) -> Stage:
    """The request's stage, or INVALID_ARGUMENT naming the valid values."""
    stage = STAGES.get(value)
    if stage is None:
        name = pb.Stage.Name(value) if value in pb.Stage.values() else str(value)
        raise InvalidArgument(f"stage {name} is not valid: set stage to STAGE_INPUT or STAGE_OUTPUT")
    return stage


def finding_message(finding: Finding) -> pb.Finding:
    """The wire form of a finding."""
    return pb.Finding(
        guardrail=finding.guardrail,
        category=finding.category,
        score=finding.score,
        action=ACTIONS[finding.action],
        message=finding.message,
        spans=[pb.Span(start=s.start, end=s.end) for s in finding.spans],
        error=finding.error,
        latency_ms=finding.latency_ms,
    )


def response_message(
    request_id: str, decision: Decision, version: str, latency_ms: float, *, final: bool = False
) -> pb.ValidateResponse:
    """The wire form of a decision."""
    return pb.ValidateResponse(
        request_id=request_id,
        verdict=VERDICTS[decision.verdict],
        text=decision.text,
        findings=[finding_message(f) for f in decision.findings],
        policy_version=version,
        skipped=decision.skipped,
        latency_ms=latency_ms,
        final=final,
    )
