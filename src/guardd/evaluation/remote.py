"""A running guardd as the scorer: one Validate RPC per record, scores read back from the findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guardd.client import CLIENT_GUARDRAIL, GuarddClient
from guardd.errors import GuarddError
from guardd.evaluation.records import Record
from guardd.evaluation.scoring import Scored
from guardd.v1 import guard_pb2 as pb

VERDICT: str = "verdict"
"""The pseudo-guardrail whose score is 1 when the response's verdict is not ALLOW."""


class Unreachable(GuarddError):
    """The target guardd did not answer; the evaluation stops rather than count silence as a verdict."""


@dataclass(frozen=True, slots=True)
class RemoteScorer:
    """Scores from a running guardd; a guardrail that did not fire scores 0 (findings only carry firing ones)."""

    client: GuarddClient

    def guardrails(self, stage: str, task: str) -> Sequence[tuple[str, float]]:  # noqa: ARG002 - known from answers
        return [(VERDICT, 0.5)]

    async def score(self, record: Record) -> Scored:
        if record.stage == "input":
            response = await self.client.check_input(record.text)
        else:
            response = await self.client.check_output(record.text, prompt=record.prompt, context=record.context)
        scores: dict[str, float] = {}
        flagged: dict[str, bool] = {}
        for finding in response.findings:
            if finding.guardrail == CLIENT_GUARDRAIL:
                raise Unreachable(f"guardd did not answer: {finding.message}")
            if finding.error:
                continue
            scores[finding.guardrail] = max(scores.get(finding.guardrail, 0.0), finding.score)
            flagged[finding.guardrail] = True
        fired = response.verdict != pb.VERDICT_ALLOW
        scores[VERDICT] = 1.0 if fired else 0.0
        flagged[VERDICT] = fired
        return Scored(scores, flagged)
