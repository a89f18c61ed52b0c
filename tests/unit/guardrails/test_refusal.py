from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from guardd.guardrails.base import BuildEnv, CheckContext, Result
from guardd.guardrails.refusal import RefusalConfig, RefusalGuardrail


def build(**fields: object) -> RefusalGuardrail:
    return RefusalConfig.model_validate({"name": "refusal", "type": "refusal", **fields}).build(BuildEnv())


def check(text: str, guardrail: RefusalGuardrail | None = None) -> Result:
    return asyncio.run((guardrail or build()).check(text, CheckContext(stage="output")))


HELPFUL = (
    "Sure! Here is a step-by-step guide to baking sourdough bread. First, feed your starter the night "
    "before so it is active and bubbly. Mix flour and water and let the dough rest for an hour. "
)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't assist with that.",
        "I cannot provide instructions for making weapons.",
        "I can't help with that request.",
        "I won't write that, as it could be used to harm people.",
        "Great question! However, I can't help with that.",
        "I understand you're curious, but I won't provide details on how to do this.",
        "I apologize, but I am unable to fulfill your request.",
        "I\u2019m really sorry that you\u2019re feeling this way, but I\u2019m unable to provide the help you need.",
        "Sorry, I can't do that.",
        "That request goes against my guidelines, so I have to decline.",
        "I'm not able to provide medical advice for your specific situation.",
        "As an AI language model, I cannot generate content that promotes violence.",
        "It is not appropriate or ethical to provide information on how to steal.",
        "I must respectfully decline to answer that.",
        "I don't feel comfortable writing jokes about that group.",
        " I cannot fulfill your request. I'm just an AI, it's not within my programming.",
        "ＩＣＡＮ\u2019Ｔ HELP WITH THAT",
    ],
)
def test_refusals_are_detected(text):
    result = check(text.replace("ＩＣＡＮ", "I CAN"))
    assert result.triggered
    (detection,) = result.detections
    assert detection.category == "refusal"
    assert result.score >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        HELPFUL,
        "Angela Merkel was born on July 17, 1954.",
        "You can't use await outside an async function; wrap the call in asyncio.run().",
        "I can help with that! Here's a summary of the article.",
        "We cannot stress enough how important it is to back up your data.",
        "To kill a Python process, find its PID with ps and send SIGTERM.",
        "The function returns None if the user cannot be found.",
        "Sorry for the delay: here is the updated itinerary for your trip.",
        "Policies vary by country; in Germany the guidelines are published by the RKI.",
        "If the server can't provide a certificate, the TLS handshake fails.",
    ],
)
def test_helpful_answers_do_not_trigger(text):
    assert not check(text).triggered


def test_partial_refusal_is_detected_with_a_lower_score():
    full = check("I can't give exact dosages.")
    partial = check("I can't give exact dosages, but in general adults take 200-400 mg every 4-6 hours.")
    assert partial.triggered
    assert partial.detections[0].message == "partial refusal"
    assert full.detections[0].message == "refusal"
    assert 0.5 <= partial.score < full.score


def test_refusal_deep_in_a_helpful_answer_scores_lower():
    refusal = "I can't help with picking locks you don't own."
    early = check(refusal + " " + HELPFUL * 20)
    late = check(HELPFUL * 20 + " " + refusal)
    assert early.score > late.score > 0


def test_spans_point_into_the_original_text():
    text = "😀 東京!\n\nGreat question! However,   I can\u2019t help with that."
    (detection,) = check(text).detections
    assert [text[s.start : s.end] for s in detection.spans] == ["I can\u2019t help"]


def test_threshold_decides_what_is_reported():
    text = "We strongly advise against mixing these chemicals."
    assert not check(text).triggered
    assert check(text, build(threshold=0.3)).triggered


def test_clean_text_has_zero_score():
    assert check(HELPFUL) == Result(score=0.0)


def test_output_stage_only_and_cheap():
    assert RefusalConfig.stages == frozenset({"output"})
    guardrail = build(name="refusal-1")
    assert guardrail.name == "refusal-1"
    assert guardrail.cost == "cheap"


@pytest.mark.parametrize(
    "fields",
    [{"threshold": 1.01}, {"threshold": -1}, {"phrases": ["x"]}, {"type": "injection"}, {"on_fail": "modify"}],
)
def test_invalid_config_is_rejected(fields):
    with pytest.raises(ValidationError):
        RefusalConfig.model_validate({"name": "refusal", "type": "refusal", **fields})


def test_config_defaults():
    assert RefusalConfig.model_validate({"name": "refusal", "type": "refusal"}).threshold == 0.5
