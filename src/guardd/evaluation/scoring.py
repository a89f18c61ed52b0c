"""Scores of each guardrail on each record: in-process from a policy file, or from a running guardd over gRPC.

In-process, every guardrail of the record's stage is run on its own, so each
one's raw score is known even below its threshold (a threshold sweep needs
it). Over gRPC only findings come back: a guardrail that did not fire scores
0, so a sweep there says nothing below the served threshold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from guardd.evaluation.records import Record
from guardd.guardrails.base import CheckContext
from guardd.pipeline.plan import PolicyPlan, Step


@dataclass(frozen=True, slots=True)
class Scored:
    """One record's score per guardrail name, and whether the guardrail's own threshold flagged it."""

    scores: dict[str, float]
    flagged: dict[str, bool]


class Scorer(Protocol):
    """Scores one record; failures raise."""

    def guardrails(self, stage: str, task: str) -> Sequence[tuple[str, float]]:
        """(name, threshold) of each guardrail that judges ``task`` on ``stage`` (all of the stage if none does)."""
        ...

    async def score(self, record: Record) -> Scored: ...


@dataclass(frozen=True, slots=True)
class PlanScorer:
    """Runs each guardrail of one built policy directly."""

    plan: PolicyPlan

    def _steps(self, stage: str) -> tuple[Step, ...]:
        plan = self.plan
        return plan.input if stage == "input" else (*plan.output_chain, *plan.output_parallel)

    def _judging(self, stage: str, task: str) -> list[Step]:
        steps = self._steps(stage)
        return [s for s in steps if task in s.config.categories] or list(steps)

    def guardrails(self, stage: str, task: str) -> Sequence[tuple[str, float]]:
        return [(s.name, threshold_of(s)) for s in self._judging(stage, task)]

    async def score(self, record: Record) -> Scored:
        ctx = CheckContext(stage=record.stage, prompt=record.prompt, context=record.context)
        scores: dict[str, float] = {}
        flagged: dict[str, bool] = {}
        for step in self._judging(record.stage, record.task):
            result = await step.guardrail.check(record.text, ctx)
            scores[step.name] = result.score
            flagged[step.name] = bool(result.detections)
        return Scored(scores, flagged)


def threshold_of(step: Step) -> float:
    """The guardrail's ``threshold`` field; guardrails without one flag at any detection (0.5 by convention)."""
    value = getattr(step.config, "threshold", None)
    return float(value) if isinstance(value, int | float) else 0.5


async def score_all(
    scorer: Scorer, records: Sequence[Record], concurrency: int, progress: Callable[[], object]
) -> list[Scored]:
    """Every record's scores in order, ``concurrency`` at a time (so a model's batcher sees concurrent work)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(record: Record) -> Scored:
        async with gate:
            result = await scorer.score(record)
        progress()
        return result

    tasks: list[Awaitable[Scored]] = [one(r) for r in records]
    return list(await asyncio.gather(*tasks))
