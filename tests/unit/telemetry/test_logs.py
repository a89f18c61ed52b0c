"""Logs are JSON lines with the request id, and never carry the text being judged."""

import asyncio
import io
import json
import logging
from dataclasses import dataclass
from typing import Literal

import pytest
from prometheus_client import CollectorRegistry

from guardd.clock import SystemClock
from guardd.guardrails.base import CheckContext, GuardrailConfig, Result
from guardd.pipeline.plan import PolicyPlan, Step
from guardd.pipeline.runner import Pipeline
from guardd.policy.model import Limits, Policy
from guardd.telemetry.logs import JsonFormatter, request_id
from guardd.telemetry.metrics import Metrics

PRIVATE_PROMPT = "my password is hunter2 and my card is 4111 1111 1111 1111"


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_records_are_json_with_request_id_and_extra_fields(captured):
    token = request_id.set("req-42")
    try:
        logging.getLogger("guardd.test").info("policy installed", extra={"version": "abc"})
    finally:
        request_id.reset(token)
    entry = json.loads(captured.getvalue())
    assert entry["message"] == "policy installed"
    assert entry["request_id"] == "req-42"
    assert entry["version"] == "abc"
    assert entry["level"] == "info"


class LeakyConfig(GuardrailConfig):
    type: Literal["leaky"] = "leaky"


@dataclass
class Leaky:
    """A buggy guardrail whose exception quotes the text it was checking."""

    name: str = "leaky"
    cost: Literal["cheap"] = "cheap"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        raise ValueError(f"could not parse {text!r}")


def test_a_guardrail_exception_is_logged_without_the_text(captured):
    step = Step(LeakyConfig(name="leaky"), Leaky())
    plan = PolicyPlan(Policy("p", (step.config,), (), Limits()), (step,), (), ())
    pipeline = Pipeline(Metrics(CollectorRegistry()), SystemClock())
    decision = asyncio.run(pipeline.run(plan, "input", PRIVATE_PROMPT, CheckContext(stage="input"), None))
    assert decision.findings[0].error
    logged = captured.getvalue()
    (entry,) = [e for e in map(json.loads, logged.splitlines()) if e["message"] == "guardrail raised"]
    assert entry["error_type"] == "ValueError"
    assert "hunter2" not in logged
    assert "4111" not in logged
