"""Runs one stage of a policy plan on one text within the caller's deadline."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from guardd.clock import Clock
from guardd.errors import GuardrailFailure
from guardd.guardrails.base import CheckContext, Result, Span, Stage
from guardd.pipeline.decision import ACTION_VERDICT, VERDICT_RANK, Action, Decision, Finding, Verdict
from guardd.pipeline.plan import PolicyPlan, Step
from guardd.telemetry.metrics import Metrics
from guardd.text.offsets import OffsetMap

log = logging.getLogger(__name__)

INLINE_TEXT_LIMIT = 64 * 1024
"""Cheap guardrails run inline on the event loop up to this many code points, in a thread above it."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one step went: a result, a failure message, or not run at all."""

    latency: float
    result: Result | None = None
    failure: str | None = None

    @property
    def skipped(self) -> bool:
        return self.result is None and self.failure is None


@dataclass
class _Run:
    """The state of one stage run: the current text and what was found so far."""

    text: str
    verdict: Verdict = "allow"
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    offsets: OffsetMap | None = None

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def escalate(self, action: Action) -> None:
        verdict = ACTION_VERDICT[action]
        if VERDICT_RANK[verdict] > VERDICT_RANK[self.verdict]:
            self.verdict = verdict

    def original_span(self, span: Span) -> Span:
        if self.offsets is None:
            return span
        return Span(*self.offsets.to_original(span.start, span.end))

    def replace_text(self, result: Result, new_text: str) -> None:
        if self.offsets is None:
            self.offsets = OffsetMap()
        self.offsets.record(len(self.text), result.edits)
        self.text = new_text


class Pipeline:
    """Runs guardrails and applies each one's on_fail and on_error."""

    def __init__(self, metrics: Metrics, clock: Clock) -> None:
        self._metrics = metrics
        self._clock = clock

    async def run(
        self, plan: PolicyPlan, stage: Stage, text: str, ctx: CheckContext, deadline: float | None
    ) -> Decision:
        """Judge ``text``; ``deadline`` is a ``clock.monotonic()`` instant or None."""
        run = _Run(text)
        if stage == "input":
            await self._sequential(plan.input, run, ctx, deadline)
        else:
            await self._sequential(plan.output_chain, run, ctx, deadline)
            if not run.blocked:
                await self._concurrent(plan.output_parallel, run, ctx, deadline)
        return Decision(run.verdict, run.text, tuple(run.findings), tuple(run.skipped))

    async def _sequential(self, steps: tuple[Step, ...], run: _Run, ctx: CheckContext, deadline: float | None) -> None:
        for step in steps:
            self._apply(step, await self._execute(step, run.text, ctx, deadline), run)
            if run.blocked:
                return

    async def _concurrent(self, steps: tuple[Step, ...], run: _Run, ctx: CheckContext, deadline: float | None) -> None:
        # Cheap guardrails never await anything real: a task each would cost more than they do.
        outcomes: dict[int, _Outcome] = {}
        async with asyncio.TaskGroup() as group:
            tasks = {
                i: group.create_task(self._execute(step, run.text, ctx, deadline))
                for i, step in enumerate(steps)
                if step.guardrail.cost != "cheap"
            }
            for i, step in enumerate(steps):
                if i not in tasks:
                    outcomes[i] = await self._execute(step, run.text, ctx, deadline)
        outcomes.update((i, task.result()) for i, task in tasks.items())
        for i, step in enumerate(steps):
            self._apply(step, outcomes[i], run)

    async def _execute(self, step: Step, text: str, ctx: CheckContext, deadline: float | None) -> _Outcome:
        start = self._clock.monotonic()
        if deadline is not None and start >= deadline:
            return _Outcome(0.0)
        try:
            result = await self._check(step, text, ctx, start, deadline)
        except TimeoutError:
            return self._failed(start, "timed out (guardrail timeout_ms or the request deadline)")
        except GuardrailFailure as exc:
            return self._failed(start, str(exc))
        except Exception as exc:  # noqa: BLE001 - a buggy guardrail must not fail the request: on_error decides
            _log_unexpected(step, exc)
            return self._failed(start, f"failed with {type(exc).__name__}")
        return _Outcome(self._clock.monotonic() - start, result=result)

    async def _check(self, step: Step, text: str, ctx: CheckContext, start: float, deadline: float | None) -> Result:
        inline = step.guardrail.cost == "cheap" and len(text) <= INLINE_TEXT_LIMIT
        if inline:
            # Microseconds of synchronous work: a thread hop would cost more, and a timeout could not interrupt it.
            return await step.guardrail.check(text, ctx)
        budget = step.config.timeout_ms / 1000
        if deadline is not None:
            budget = min(budget, deadline - start)
        async with asyncio.timeout(budget):
            if step.guardrail.cost == "cheap":
                # A cheap rule on a huge text can take 100s of ms: keep the event loop serving meanwhile.
                return await asyncio.to_thread(_complete, step.guardrail.check(text, ctx))
            return await step.guardrail.check(text, ctx)

    def _failed(self, start: float, message: str) -> _Outcome:
        return _Outcome(self._clock.monotonic() - start, failure=message)

    def _apply(self, step: Step, outcome: _Outcome, run: _Run) -> None:
        name, config = step.name, step.config
        self._metrics.guardrail_duration.labels(name).observe(outcome.latency)
        latency_ms = outcome.latency * 1000
        if outcome.skipped:
            run.skipped.append(name)
            self._metrics.skipped.labels(name).inc()
            if config.on_error == "fail_closed":
                self._fail(run, step, "not run: the request deadline ran out", latency_ms)
        elif outcome.failure is not None:
            self._metrics.errors.labels(name, config.on_error).inc()
            self._fail(run, step, outcome.failure, latency_ms)
        elif outcome.result is not None and outcome.result.triggered:
            self._detected(run, step, outcome.result, latency_ms)

    def _fail(self, run: _Run, step: Step, message: str, latency_ms: float) -> None:
        mode = step.config.on_error
        run.findings.append(Finding(step.name, "error", 0.0, mode, message, error=True, latency_ms=latency_ms))
        run.escalate(mode)

    def _detected(self, run: _Run, step: Step, result: Result, latency_ms: float) -> None:
        config = step.config
        new_text = result.new_text if config.may_modify else None
        action: Action = (
            "modify" if new_text is not None else ("flag" if config.on_fail == "modify" else config.on_fail)
        )
        for detection in result.detections:
            spans = tuple(run.original_span(s) for s in detection.spans)
            run.findings.append(
                Finding(
                    step.name,
                    detection.category,
                    detection.score,
                    action,
                    detection.message,
                    spans,
                    latency_ms=latency_ms,
                )
            )
            self._metrics.findings.labels(step.name, detection.category, action).inc()
        if new_text is not None and new_text != run.text:
            run.replace_text(result, new_text)
        run.escalate(action)


def _complete(check: Coroutine[Any, Any, Result]) -> Result:
    """Run a cheap guardrail's coroutine to its end without an event loop: cheap ones never suspend."""
    try:
        check.send(None)
    except StopIteration as done:
        result: Result = done.value
        return result
    check.close()
    raise GuardrailFailure("a guardrail declared cost 'cheap' suspended; declare it 'cpu' or 'model'")


def _log_unexpected(step: Step, exc: Exception) -> None:
    # The exception's message may quote the text being checked: log where it failed, not what it said.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("guardrail raised", extra={"guardrail": step.name, "error_type": type(exc).__name__, "frames": frames})
