from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from guardd.guardrails.base import BuildEnv, CheckContext, Result, Span
from guardd.guardrails.pattern import MAX_SPANS, PatternConfig, PatternGuardrail
from guardd.text.offsets import Edit

SECRET = {"name": "api-key", "regex": r"sk-[A-Za-z0-9]{8,}", "category": "secret"}


def build(**entry: object) -> PatternGuardrail:
    return PatternConfig.model_validate({"name": "patterns", "type": "pattern", **entry}).build(BuildEnv())


def check(guardrail: PatternGuardrail, text: str) -> Result:
    return asyncio.run(guardrail.check(text, CheckContext(stage="output")))


def matched(text: str, result: Result) -> list[str]:
    return [text[s.start : s.end] for d in result.detections for s in d.spans]


@pytest.mark.parametrize(
    ("entry", "text", "expected"),
    [
        ({"patterns": [SECRET]}, "use sk-abcdef123456 now", ["sk-abcdef123456"]),
        ({"patterns": [SECRET]}, "sk-short is fine", []),
        ({"banned_substrings": ["project x"]}, "Tell me about PROJECT X.", ["PROJECT X"]),
        ({"banned_substrings": ["project x"], "case_sensitive": True}, "Tell me about PROJECT X.", []),
        ({"banned_substrings": ["a.b"]}, "axb a.b", ["a.b"]),  # substrings are literal, not regex
        ({"banned_substrings": ["foo", "foobar"]}, "a foobar", ["foobar"]),  # longest wins
        ({"banned_substrings": [" ass "]}, "class assignment", []),  # whitespace is kept
        (
            {"patterns": [{"name": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b"}]},
            "ssn 123-45-6789.",
            ["123-45-6789"],
        ),
    ],
)
def test_matches(entry, text, expected):
    assert matched(text, check(build(**entry), text)) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("😀😀😀 sk-abcdefgh12 🎉", "sk-abcdefgh12"),
        ("東京タワー sk-abcdefgh12 です", "sk-abcdefgh12"),
        ("👨‍👩‍👧 family then sk-abcdefgh12", "sk-abcdefgh12"),  # ZWJ sequence: several code points
        ("é́ combining sk-abcdefgh12", "sk-abcdefgh12"),
    ],
)
def test_spans_are_code_point_offsets(text, needle):
    (detection,) = check(build(patterns=[SECRET]), text).detections
    start = text.index(needle)
    assert detection.spans == (Span(start, start + len(needle)),)


def test_non_ascii_pattern_spans():
    text = "🐱 猫と猫猫"
    result = check(build(patterns=[{"name": "cat", "regex": "猫+"}]), text)
    assert result.detections[0].spans == (Span(2, 3), Span(4, 6))


def test_one_detection_per_pattern_with_its_category():
    entry = {
        "patterns": [SECRET, {"name": "ip", "regex": r"\d+\.\d+\.\d+\.\d+"}],
        "banned_substrings": ["zebra"],
    }
    result = check(build(**entry), "sk-abcdefgh12 10.0.0.1 zebra sk-zyxwvuts98")
    assert [(d.category, d.message) for d in result.detections] == [
        ("secret", "api-key matched 2 time(s)"),
        ("pattern", "ip matched 1 time(s)"),
        ("banned_substring", "banned_substrings matched 1 time(s)"),
    ]
    assert result.score == 1.0
    assert result.new_text is None


def test_spans_reported_are_bounded():
    (detection,) = check(build(banned_substrings=["x"]), "x " * 1000).detections
    assert len(detection.spans) == MAX_SPANS
    assert detection.message == f"banned_substrings matched {MAX_SPANS}+ time(s)"


@pytest.mark.parametrize(
    ("entry", "text", "redacted"),
    [
        ({"patterns": [SECRET]}, "key sk-abcdefgh12 ok", "key [REDACTED] ok"),
        ({"banned_substrings": ["secret"]}, "😀 Secret and SECRET", "😀 [REDACTED] and [REDACTED]"),
        ({"banned_substrings": ["x"], "replacement": "█"}, "x " * 500, "█ " * 500),
        (
            {"patterns": [SECRET], "banned_substrings": ["sk-abc"]},
            "sk-abcdefgh12!",
            "[REDACTED]!",
        ),  # overlap merges
        ({"patterns": [SECRET], "replacement": ""}, "a sk-abcdefgh12 b", "a  b"),
    ],
)
def test_redaction(entry, text, redacted):
    result = check(build(on_fail="modify", **entry), text)
    assert result.new_text == redacted
    assert result.triggered


def test_redaction_reports_edits_in_original_coordinates():
    text = "🎉 sk-abcdefgh12 and sk-zyxwvuts98"
    result = check(build(on_fail="modify", patterns=[SECRET]), text)
    assert result.edits == (Edit(2, 15, 10), Edit(20, 33, 10))


def test_clean_text_is_not_modified():
    assert check(build(on_fail="modify", patterns=[SECRET]), "nothing here") == Result()


@pytest.mark.parametrize(
    ("regex", "text"),
    [
        ("(a+)+$", "a" * 100_000 + "!"),
        ("(x+x+)+y", "x" * 100_000),
        ("^(a|a)+$", "a" * 100_000 + "b"),
        (r"(\w+\s?)+$", "word " * 20_000 + "!"),
        ("(.*a){20}", "a" * 50_000),
    ],
)
def test_catastrophic_backtracking_patterns_run_in_linear_time(regex, text):
    # With a backtracking engine these take longer than the universe; the
    # per-test timeout would catch a regression to one.
    result = check(build(patterns=[{"name": "redos", "regex": regex}]), text)
    assert isinstance(result, Result)


@pytest.mark.parametrize(
    ("regex", "feature"),
    [
        (r"(a)\1", "a backreference"),
        (r"(?P<q>['\"]).*?(?P=q)", "a backreference"),
        (r"(?<w>x)\k<w>", "a backreference"),
        (r"password(?=\d)", "lookaround"),
        (r"(?<!no )secret", "lookaround"),
        (r"(?<=key=)\w+", "lookaround"),
        (r"foo(?!bar)", "lookaround"),
        (r"(?>a+)b", "an atomic group"),
        (r"a++", "a possessive quantifier"),
    ],
)
def test_backtracking_only_features_are_rejected_with_the_reason(regex, feature):
    with pytest.raises(ValidationError) as info:
        build(patterns=[{"name": "bad-one", "regex": regex}])
    message = str(info.value)
    assert f"pattern 'bad-one' uses {feature}, which RE2 does not support" in message
    assert "RE2 guarantees linear-time matching" in message
    assert info.value.errors()[0]["loc"] == ("patterns", 0)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({}, "at least one of patterns or banned_substrings"),
        ({"patterns": [{"name": "p", "regex": "("}]}, "pattern 'p' is not a valid RE2 regex: missing \\)"),
        ({"patterns": [{"name": "p", "regex": "a*"}]}, "matches the empty string"),
        (
            {"patterns": [{"name": "p", "regex": r"(?:\pL|\pN){1,1000}"}]},
            "too large for RE2's 4 MiB memory budget",
        ),
        ({"patterns": [{"name": "p", "regex": "a" * 2001}]}, "at most 2000 characters"),
        ({"patterns": [{"name": f"p{i}", "regex": "a"} for i in range(101)]}, "at most 100 items"),
        ({"patterns": [{"name": "p", "regex": "a"}, {"name": "p", "regex": "b"}]}, "unique; repeated: p"),
        ({"patterns": [{"name": "Bad Name", "regex": "a"}]}, "should match pattern"),
        ({"patterns": [{"name": "p", "regex": "a", "severity": 3}]}, "severity"),
        ({"banned_substrings": [""]}, "at least 1 character"),
        ({"banned_substrings": ["x" * 201]}, "at most 200 characters"),
        ({"banned_substrings": ["x"] * 1001}, "at most 1000 items"),
    ],
)
def test_config_errors(entry, fragment):
    with pytest.raises(ValidationError, match=fragment):
        PatternConfig.model_validate({"name": "patterns", "type": "pattern", **entry})


def test_can_modify():
    config = PatternConfig.model_validate(
        {"name": "patterns", "type": "pattern", "banned_substrings": ["x"], "on_fail": "modify"}
    )
    assert config.may_modify
