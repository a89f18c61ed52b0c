from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from guardd.guardrails.base import BuildEnv, CheckContext, Result, Span
from guardd.guardrails.length import LengthConfig, LengthGuardrail


def build(**bounds: object) -> LengthGuardrail:
    return LengthConfig.model_validate({"name": "length", "type": "length", **bounds}).build(BuildEnv())


def check(guardrail: LengthGuardrail, text: str, *, final: bool = True) -> Result:
    return asyncio.run(guardrail.check(text, CheckContext(stage="output", final=final)))


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        ({"max_chars": 5}, "hello"),
        ({"max_chars": 2}, "🗼東"),  # code points, not bytes
        ({"max_tokens": 3}, "one two three"),
        ({"min_chars": 3}, "abc"),
        ({"min_chars": 1, "max_chars": 10}, "in range"),
    ],
)
def test_within_bounds_is_clean(bounds, text):
    assert check(build(**bounds), text) == Result()


def test_max_chars_span_runs_from_the_limit_to_the_end():
    result = check(build(max_chars=10), "x" * 40)
    (detection,) = result.detections
    assert detection.category == "length"
    assert detection.spans == (Span(10, 40),)
    assert detection.message == "text is 40 characters, over the limit of 10"
    assert detection.score == pytest.approx(0.75)
    assert result.score == detection.score


def test_max_chars_counts_code_points():
    (detection,) = check(build(max_chars=3), "東京🗼タワー").detections
    assert detection.spans == (Span(3, 6),)


def test_max_tokens_uses_the_shared_estimate():
    (detection,) = check(build(max_tokens=4), "one two three four five six, seven!").detections
    assert detection.message == "text is about 9 tokens, over the limit of 4"
    assert detection.spans == ()
    assert detection.score == pytest.approx(5 / 9)


def test_min_chars():
    (detection,) = check(build(min_chars=10), "hi").detections
    assert detection.message == "text is 2 characters, under the minimum of 10"
    assert detection.score == pytest.approx(0.8)


def test_min_chars_waits_for_the_final_text_of_a_stream():
    assert check(build(min_chars=10), "hi", final=False) == Result()


def test_max_chars_applies_while_streaming():
    assert check(build(max_chars=3), "too long", final=False).triggered


@pytest.mark.parametrize(("size", "limit"), [(11, 10), (20, 10), (10_000, 10), (10**6, 1)])
def test_score_is_within_unit_interval_and_grows(size, limit):
    score = check(build(max_chars=limit), "x" * size).score
    assert 0 < score < 1
    assert score >= check(build(max_chars=limit), "x" * (size - 1)).score


def test_every_violated_bound_is_reported():
    result = check(build(max_chars=5, max_tokens=1), "hello world")
    assert len(result.detections) == 2
    assert result.score == max(d.score for d in result.detections)


@pytest.mark.parametrize(
    ("bounds", "fragment"),
    [
        ({}, "at least one of"),
        ({"max_chars": 0}, "greater than or equal to 1"),
        ({"max_tokens": -5}, "greater than or equal to 1"),
        ({"min_chars": 10, "max_chars": 5}, "min_chars \\(10\\) is above max_chars \\(5\\)"),
        ({"max_chars": "lots"}, "valid integer"),
        ({"max_char": 5}, "max_char"),
        ({"max_chars": 5, "on_fail": "modify"}, "cannot modify text"),
    ],
)
def test_config_errors(bounds, fragment):
    with pytest.raises(ValidationError, match=fragment):
        LengthConfig.model_validate({"name": "length", "type": "length", **bounds})
