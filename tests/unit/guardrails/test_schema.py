from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from guardd.errors import GuardrailFailure
from guardd.guardrails.base import BuildEnv, CheckContext, Result
from guardd.guardrails.schema import SchemaConfig, SchemaGuardrail

ANSWER = {
    "type": "object",
    "required": ["answer"],
    "properties": {"answer": {"type": "string"}, "sources": {"type": "array", "items": {"type": "string"}}},
}


def build(schema: object = ANSWER, **extra: object) -> SchemaGuardrail:
    entry = {"name": "json", "type": "schema", "schema": schema, **extra}
    return SchemaConfig.model_validate(entry).build(BuildEnv())


def check(guardrail: SchemaGuardrail, text: str, *, final: bool = True) -> Result:
    return asyncio.run(guardrail.check(text, CheckContext(stage="output", final=final)))


@pytest.mark.parametrize(
    "text",
    [
        '{"answer": "Paris"}',
        '  {"answer": "Paris", "sources": ["wiki"]}\n',
        '{"answer": "東京 🗼", "sources": []}',
    ],
)
def test_valid_json_is_clean(text):
    result = check(build(), text)
    assert not result.triggered
    assert result.new_text is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"answer": 42}', "$.answer: 42 is not of type 'string'"),
        ('{"sources": []}', "$: 'answer' is a required property"),
        ('{"answer": "x", "sources": [1]}', "$.sources[0]: 1 is not of type 'string'"),
        ('["answer"]', "$: ['answer'] is not of type 'object'"),
    ],
)
def test_schema_errors_name_the_json_path(text, expected):
    result = check(build(), text)
    assert [d.message for d in result.detections] == [expected]
    assert result.detections[0].category == "schema"
    assert result.new_text is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("The answer is Paris.", "Expecting value (line 1, column 1)"),
        ('{"answer": "Paris",}', "Expecting property name enclosed in double quotes"),
        ('{"answer": NaN}', "NaN is not valid JSON"),
    ],
)
def test_invalid_json_without_repair_is_reported(text, fragment):
    result = check(build(), text)
    (detection,) = result.detections
    assert detection.message.startswith("not valid JSON: ")
    assert fragment in detection.message
    assert result.new_text is None


def test_parse_error_span_points_at_the_problem():
    (detection,) = check(build(), '{"answer": oops}').detections
    assert detection.spans[0].start == len('{"answer": ')


@pytest.mark.parametrize(
    ("text", "repaired", "steps"),
    [
        ('```json\n{"answer": "Paris"}\n```', '{"answer":"Paris"}', ["removed markdown code fence"]),
        ('```\n{"answer": "Paris"}', '{"answer":"Paris"}', ["removed markdown code fence"]),
        (
            'Sure! Here is the JSON:\n{"answer": "Paris"}\nLet me know if you need more.',
            '{"answer":"Paris"}',
            ["dropped text before the JSON", "dropped text after the JSON"],
        ),
        (
            '{"answer": "Paris", "sources": ["a", "b",],}',
            '{"answer":"Paris","sources":["a","b"]}',
            ["2 trailing"],
        ),
        ('{"answer": "Paris", "sources": ["a", "b"', '{"answer":"Paris","sources":["a","b"]}', ["closed 2"]),
        (
            '{"answer": "Paris", "sources": ["a",\n',
            '{"answer":"Paris","sources":["a"]}',
            ["trailing", "closed 2"],
        ),
        ("{\u201canswer\u201d: \u201cParis\u201d}", '{"answer":"Paris"}', ["typographic quotes"]),
        ('See [1] and [2].\n{"answer": "Paris"}', '{"answer":"Paris"}', ["dropped text before"]),
        ('```json\n{"answer": "use ```code```",}\n```', '{"answer":"use ```code```"}', ["fence", "trailing"]),
        ('```sh\nls\n```\nThen: {"answer": "x"}', '{"answer":"x"}', ["dropped text before"]),
        ('{"answer": "東京 🗼", "sources": [],}', '{"answer":"東京 🗼","sources":[]}', ["trailing"]),
    ],
)
def test_repair(text, repaired, steps):
    result = check(build(repair=True), text)
    assert result.new_text == repaired
    (detection,) = result.detections
    assert detection.category == "schema"
    assert detection.message.startswith("repaired JSON: ")
    for step in steps:
        assert step in detection.message


@pytest.mark.parametrize(
    "text",
    [
        "I cannot answer that.",
        '{"answer": "Par',  # cut inside a string: closing it would invent content
        '{"answer": }',
        '{"answer": "x"] ',
        '{"answer" "x"}',
    ],
)
def test_unrepairable_text_is_reported_without_new_text(text):
    result = check(build(repair=True), text)
    assert result.triggered
    assert result.new_text is None
    assert "not repairable" in result.detections[0].message


def test_repaired_but_still_invalid_reports_schema_errors():
    result = check(build(repair=True), '```json\n{"answer": 1,}\n```')
    assert result.new_text is None
    (detection,) = result.detections
    assert detection.message.startswith("after repair (removed markdown code fence, removed 1 trailing comma(s)):")
    assert "$.answer: 1 is not of type 'string'" in detection.message


def test_valid_json_is_not_rewritten_by_repair():
    result = check(build(repair=True), '{ "answer" : "Paris" }')
    assert result == Result()


def test_errors_are_bounded_in_number_and_length():
    schema = {"type": "array", "items": {"type": "integer"}}
    result = check(build(schema), json.dumps(["x" * 10_000] * 50))
    assert len(result.detections) == 3
    assert all(len(d.message) <= 240 for d in result.detections)


@pytest.mark.parametrize("text", ["[" * 100_000, "{" * 100_000, '{"a":' * 100_000, "[" * 50_000 + "]" * 50_000])
@pytest.mark.parametrize("repair", [False, True])
def test_deep_nesting_is_rejected_without_crashing(text, repair):
    result = check(build(repair=repair), text)
    (detection,) = result.detections
    assert "nests deeper than max_depth 32" in detection.message
    assert result.new_text is None


def test_nesting_within_max_depth_validates():
    text = "[" * 64 + "1" + "]" * 64
    assert not check(build({"type": "array"}, max_depth=64), text).triggered


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"answer": "[" * 1000 + "{" * 1000})
    assert not check(build(), text).triggered


@pytest.mark.parametrize("text", ['{"answer": "Pa', "```json\n{", '{"answer": 1'])
def test_partial_stream_is_not_judged(text):
    assert check(build(repair=True), text, final=False) == Result()


def test_stream_is_judged_when_final():
    assert check(build(), '{"answer": 1', final=True).triggered


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "objekt"}, "invalid JSON Schema at $.type"),
        ({"type": "object", "required": "answer"}, "invalid JSON Schema at $.required"),
        ({"$schema": "https://example.com/my-draft", "type": "object"}, "unknown $schema"),
        ({"minLength": -1}, "invalid JSON Schema at $.minLength"),
    ],
)
def test_invalid_schema_is_a_config_error(schema, fragment):
    with pytest.raises(ValidationError, match="schema") as info:
        SchemaConfig.model_validate({"name": "json", "type": "schema", "schema": schema})
    assert fragment in str(info.value)
    assert info.value.errors()[0]["loc"] == ("schema",)


@pytest.mark.parametrize(
    ("schema_uri", "ok", "bad"),
    [
        ("http://json-schema.org/draft-07/schema#", '{"a": [1, "x"]}', '{"a": [1, 2, 3]}'),
        ("https://json-schema.org/draft/2020-12/schema", '{"a": [1, "x"]}', '{"a": [1, 2, 3]}'),
    ],
)
def test_validator_follows_dollar_schema(schema_uri, ok, bad):
    if "draft-07" in schema_uri:
        array = {"type": "array", "items": [{"type": "integer"}], "additionalItems": {"type": "string"}}
    else:
        array = {"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}}
    guardrail = build({"$schema": schema_uri, "type": "object", "properties": {"a": array}})
    assert not check(guardrail, ok).triggered
    assert check(guardrail, bad).triggered


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({}, "exactly one of 'schema'"),
        ({"schema": ANSWER, "schema_file": "answer.json"}, "exactly one of 'schema'"),
        ({"schema": ANSWER, "on_fail": "modify"}, "cannot modify text"),
        ({"schema": ANSWER, "max_depth": 0}, "max_depth"),
        ({"schema": ANSWER, "max_depth": 1000}, "max_depth"),
        ({"schema": ANSWER, "repiar": True}, "repiar"),
        ({"schema": ANSWER, "json_schema": ANSWER}, "json_schema"),
    ],
)
def test_config_errors(entry, fragment):
    with pytest.raises(ValidationError, match=fragment):
        SchemaConfig.model_validate({"name": "json", "type": "schema", **entry})


@pytest.mark.parametrize(("repair", "may_modify"), [(False, False), (True, True)])
def test_may_modify_follows_repair(repair, may_modify):
    config = SchemaConfig.model_validate({"name": "json", "type": "schema", "schema": ANSWER, "repair": repair})
    assert config.may_modify is may_modify


@pytest.mark.parametrize(
    ("name", "content"),
    [("answer.json", json.dumps(ANSWER)), ("answer.yaml", "type: object\nrequired: [answer]\n")],
)
def test_schema_file_is_read_relative_to_base_dir(tmp_path, name, content):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / name).write_text(content)
    entry = {"name": "json", "type": "schema", "schema_file": f"schemas/{name}"}
    guardrail = SchemaConfig.model_validate(entry).build(BuildEnv(base_dir=tmp_path))
    assert not check(guardrail, '{"answer": "x"}').triggered
    assert check(guardrail, "{}").triggered


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "cannot read"), ('{"type": "objekt"}', "invalid JSON Schema"), ("[1, 2]", "must be a mapping")],
)
def test_bad_schema_file_fails_build_naming_the_file(tmp_path, content, fragment):
    if content is not None:
        (tmp_path / "s.json").write_text(content)
    config = SchemaConfig.model_validate({"name": "json", "type": "schema", "schema_file": "s.json"})
    with pytest.raises(ValueError, match=fragment) as info:
        config.build(BuildEnv(base_dir=tmp_path))
    assert str(Path(tmp_path / "s.json")) in str(info.value)


def test_unresolvable_ref_is_a_guardrail_failure():
    guardrail = build({"$ref": "https://example.com/schema.json"})
    with pytest.raises(GuardrailFailure, match="cannot be resolved"):
        check(guardrail, "{}")


def test_formats_are_checked_only_when_asked():
    schema = {"type": "object", "properties": {"ip": {"type": "string", "format": "ipv4"}}}
    assert not check(build(schema), '{"ip": "999.1.1.1"}').triggered
    assert check(build(schema, check_formats=True), '{"ip": "999.1.1.1"}').triggered


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.just("```\n```"),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_gets_a_result_never_an_exception(text):
    result = check(build({}, repair=True), text)
    if result.new_text is not None:
        json.loads(result.new_text)


@settings(max_examples=200, deadline=None)
@given(
    JSON_VALUES.filter(lambda v: isinstance(v, (list, dict))),
    st.sampled_from(["```json\n{}\n```", "Here: {} Done."]),
)
def test_wrapped_json_repairs_to_the_same_value(value, wrapper):
    text = wrapper.replace("{}", json.dumps(value, ensure_ascii=False))
    result = check(build({}, repair=True), text)
    assert result.new_text is not None
    assert json.loads(result.new_text) == value
