"""The pipeline: order, fail-fast, concurrency, chaining, fail modes and deadlines."""

import asyncio
from dataclasses import dataclass, field
from typing import Literal

import pytest
from prometheus_client import CollectorRegistry

from guardd.clock import SystemClock
from guardd.errors import GuardrailFailure
from guardd.guardrails.base import (
    CheckContext,
    Cost,
    Detection,
    GuardrailConfig,
    Result,
    Span,
)
from guardd.pipeline.plan import PolicyPlan, Step
from guardd.pipeline.runner import Pipeline
from guardd.policy.model import Limits, Policy
from guardd.telemetry.metrics import Metrics
from guardd.text.offsets import Edit


class ScriptedConfig(GuardrailConfig):
    type: Literal["scripted"] = "scripted"
    can_modify = True


@dataclass
class Scripted:
    """A guardrail that does what the test says and remembers what it saw."""

    name: str
    result: Result | None = None
    error: BaseException | None = None
    delay: float = 0.0
    cost: Cost = "cheap"
    seen: list[str] = field(default_factory=list)

    async def check(self, text: str, ctx: CheckContext) -> Result:
        self.seen.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.result or Result()


def step(guardrail: Scripted, **config: object) -> Step:
    return Step(ScriptedConfig.model_validate({"name": guardrail.name, **config}), guardrail)


def plan(input_steps=(), output_steps=()) -> PolicyPlan:
    output = tuple(output_steps)
    policy = Policy("p", tuple(s.config for s in input_steps), tuple(s.config for s in output), Limits())
    return PolicyPlan(
        policy,
        tuple(input_steps),
        tuple(s for s in output if s.config.may_modify),
        tuple(s for s in output if not s.config.may_modify),
    )


def detect(category="x", score=0.9, spans=()):
    return Result(score, (Detection(category, score, "found", tuple(spans)),))


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def pipeline(registry):
    return Pipeline(Metrics(registry), SystemClock())


def run(pipeline, the_plan, stage="input", text="hello", deadline=None):
    return asyncio.run(pipeline.run(the_plan, stage, text, CheckContext(stage=stage), deadline))


def test_input_runs_in_order_and_stops_at_first_block(pipeline):
    first, blocker, never = Scripted("a"), Scripted("b", detect()), Scripted("c")
    decision = run(pipeline, plan([step(first), step(blocker), step(never)]))
    assert decision.verdict == "block"
    assert first.seen == ["hello"]
    assert never.seen == []
    assert [(f.guardrail, f.action) for f in decision.findings] == [("b", "block")]


def test_flag_allows_the_text_and_records_the_finding(pipeline):
    decision = run(pipeline, plan([step(Scripted("a", detect("pii", spans=[Span(0, 2)])), on_fail="flag")]))
    assert decision.verdict == "flag"
    assert decision.text == "hello"
    assert decision.findings[0].spans == (Span(0, 2),)


def test_modifications_chain_and_spans_map_back_to_the_original(pipeline):
    # "my key is SECRET ok" -> "my key is [X] ok"; the next guardrail finds "ok" in the new text.
    original = "my key is SECRET ok"
    redactor = Scripted(
        "redact",
        Result(1.0, (Detection("secret", 1.0, "found", (Span(10, 16),)),), "my key is [X] ok", (Edit(10, 16, 3),)),
    )
    finder = Scripted("find", detect("word", spans=[Span(14, 16)]))
    decision = run(pipeline, plan([step(redactor, on_fail="modify"), step(finder, on_fail="flag")]), text=original)
    assert decision.verdict == "modify"
    assert decision.text == "my key is [X] ok"
    assert finder.seen == ["my key is [X] ok"]
    spans = {f.guardrail: f.spans for f in decision.findings}
    assert spans == {"redact": (Span(10, 16),), "find": (Span(17, 19),)}
    assert original[17:19] == "ok"


@dataclass
class Rendezvous(Scripted):
    """Waits for its partner to start: only possible if both run at once."""

    mine: asyncio.Event | None = None
    partner: asyncio.Event | None = None

    async def check(self, text: str, ctx: CheckContext) -> Result:
        self.seen.append(text)
        assert self.mine is not None
        assert self.partner is not None
        self.mine.set()
        await asyncio.wait_for(self.partner.wait(), 5)
        return Result()


def test_output_runs_modifiers_first_then_the_rest_concurrently(pipeline):
    async def scenario():
        a_started, b_started = asyncio.Event(), asyncio.Event()
        a = Rendezvous("a", cost="model", mine=a_started, partner=b_started)
        b = Rendezvous("b", cost="model", mine=b_started, partner=a_started)
        fixer = Scripted("fixer", Result(1.0, (Detection("schema", 1.0, "repaired"),), "{}"))
        the_plan = plan(output_steps=[step(a), step(fixer, on_fail="modify"), step(b)])
        decision = await pipeline.run(the_plan, "output", "not json", CheckContext(stage="output"), None)
        return decision, a, b

    decision, a, b = asyncio.run(scenario())
    assert decision.verdict == "modify"
    assert [f.guardrail for f in decision.findings] == ["fixer"], "neither rendezvous timed out"
    assert a.seen == b.seen == ["{}"], "both judged the repaired text"


@pytest.mark.parametrize(
    ("mode", "verdict", "action"),
    [("fail_open", "allow", "fail_open"), ("fail_closed", "block", "fail_closed")],
)
@pytest.mark.parametrize("error", [GuardrailFailure("model exploded"), RuntimeError("bug")])
def test_a_failing_guardrail_applies_its_on_error_mode(pipeline, registry, mode, verdict, action, error):
    decision = run(pipeline, plan([step(Scripted("g", error=error), on_error=mode)]))
    assert decision.verdict == verdict
    (finding,) = decision.findings
    assert finding.error
    assert finding.action == action
    assert registry.get_sample_value("guardd_guardrail_errors_total", {"guardrail": "g", "mode": mode}) == 1


def test_a_slow_guardrail_times_out_into_its_fail_mode(pipeline):
    slow = Scripted("slow", delay=5, cost="model")
    decision = run(pipeline, plan([step(slow, timeout_ms=20, on_error="fail_closed")]))
    assert decision.verdict == "block"
    assert "timed out" in decision.findings[0].message


def test_an_exhausted_deadline_skips_guardrails(pipeline, registry):
    never_open, never_closed = Scripted("open"), Scripted("closed")
    the_plan = plan([step(never_open), step(never_closed, on_error="fail_closed")])
    decision = run(pipeline, the_plan, deadline=SystemClock().monotonic() - 1)
    assert decision.skipped == ("open", "closed")
    assert never_open.seen == never_closed.seen == []
    assert decision.verdict == "block", "a fail_closed guardrail that could not run blocks"
    assert registry.get_sample_value("guardd_guardrail_skipped_total", {"guardrail": "open"}) == 1


def test_block_outranks_modify_outranks_flag(pipeline):
    fixer = Scripted("fix", Result(1.0, (Detection("s", 1.0, "fixed"),), "new"))
    flagger = Scripted("flag", detect())
    blocker = Scripted("block", detect())
    assert run(pipeline, plan([step(flagger, on_fail="flag"), step(fixer, on_fail="modify")])).verdict == "modify"
    decision = run(pipeline, plan(output_steps=[step(fixer, on_fail="modify"), step(blocker)]), stage="output")
    assert decision.verdict == "block"


def test_new_text_from_a_guardrail_not_configured_to_modify_is_ignored(pipeline):
    fixer = Scripted("fix", Result(1.0, (Detection("s", 1.0, "fixed"),), "new"))
    decision = run(pipeline, plan([step(fixer, on_fail="flag")]))
    assert decision.verdict == "flag"
    assert decision.text == "hello"


def test_findings_are_counted_by_action(pipeline, registry):
    run(pipeline, plan([step(Scripted("g", detect("pii")), on_fail="flag")]))
    labels = {"guardrail": "g", "category": "pii", "action": "flag"}
    assert registry.get_sample_value("guardd_guardrail_findings_total", labels) == 1


@dataclass
class Suspender(Scripted):
    """Claims to be cheap but awaits: the pipeline must not hang or crash on it."""

    async def check(self, text: str, ctx: CheckContext) -> Result:
        await asyncio.sleep(0)
        return Result()


def test_a_huge_text_runs_cheap_guardrails_off_the_loop_and_under_a_timeout(pipeline):
    big = "x" * (1024 * 1024)
    seen = Scripted("cheap", detect())
    decision = run(pipeline, plan([step(seen, on_fail="flag")]), text=big)
    assert seen.seen == [big]
    assert decision.verdict == "flag"
    liar = run(pipeline, plan([step(Suspender("liar"), on_error="fail_closed")]), text=big)
    assert liar.verdict == "block"
    assert "suspended" in liar.findings[0].message
