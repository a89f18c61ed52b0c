"""JSON Schema validation of a text (usually a completion), with optional repair.

The schema is checked when the policy loads and its validator is compiled once
in ``build``; a request only parses and validates. With ``repair: true`` a
near-JSON answer (fenced, wrapped in prose, trailing commas, truncated) is
fixed and handed back as compact JSON when the fixed document validates.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path  # pydantic resolves field annotations at run time
from typing import TYPE_CHECKING, Literal, Self, cast

import yaml
from jsonschema import Draft7Validator, Draft202012Validator, SchemaError, ValidationError
from jsonschema.validators import validator_for
from pydantic import Field, JsonValue, field_validator, model_validator
from referencing.exceptions import Unresolvable

from guardd.errors import GuardrailFailure
from guardd.guardrails.base import (
    CLEAN,
    BuildEnv,
    CheckContext,
    Cost,
    Detection,
    GuardrailConfig,
    Result,
    Span,
)
from guardd.guardrails.json_repair import nesting_exceeds, parse_json, repair_json

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

SchemaDocument = dict[str, JsonValue]

MAX_ERRORS = 3
"""Schema errors reported per text: enough to fix the prompt, bounded for the response."""
MAX_MESSAGE_CHARS = 240
MAX_SCHEMA_FILE_BYTES = 1024 * 1024
CATEGORY = "schema"


class SchemaConfig(GuardrailConfig):
    """Policy entry for ``type: schema``: the text must be JSON matching a JSON Schema.

    The validator class follows the schema's ``$schema`` (Draft 2020-12 when
    absent). ``on_fail`` applies when the text is invalid and cannot be
    repaired; a successful repair is reported as a modification.
    """

    type: Literal["schema"]
    # Aliased because a field named ``schema`` would shadow ``BaseModel.schema``.
    json_schema: SchemaDocument | None = Field(default=None, alias="schema")
    schema_file: Path | None = None
    repair: bool = False
    # jsonschema recurses about 7 Python frames per level on its error path
    # (items → $ref → anyOf ...), so the bound keeps far inside the interpreter's
    # recursion limit even under a deep caller stack.
    max_depth: int = Field(default=32, ge=1, le=64)
    check_formats: bool = False

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: SchemaDocument | None) -> SchemaDocument | None:
        if schema is not None:
            validator_class(schema)
        return schema

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.json_schema is None) == (self.schema_file is None):
            raise ValueError("set exactly one of 'schema' (inline) or 'schema_file'")
        return self

    @property
    def may_modify(self) -> bool:
        """A repair hands back new text; ``repair`` governs that, not ``on_fail``."""
        return self.repair

    def build(self, env: BuildEnv) -> SchemaGuardrail:
        """Compile the validator; a ``schema_file`` is read here, never per request.

        Raises ``ValueError`` naming the file when ``schema_file`` cannot be
        read or does not hold a valid schema.
        """
        if self.schema_file is None:
            schema = self.json_schema or {}  # never {} by fallback: _one_source requires one source
        else:
            schema = load_schema_file(env.base_dir / self.schema_file)
        cls = validator_class(schema)
        checker = cls.FORMAT_CHECKER if self.check_formats else None
        return SchemaGuardrail(
            self.name, cls(schema, format_checker=checker), repair=self.repair, max_depth=self.max_depth
        )


def validator_class(schema: SchemaDocument) -> type[Validator]:
    """Pick the validator for the schema's ``$schema``; ``ValueError`` if unknown or the schema is invalid."""
    cls = validator_for(schema, default=Draft202012Validator)
    # validator_for silently falls back to ``default`` for an unknown $schema:
    # asking with two different defaults tells a real match from a fallback.
    if "$schema" in schema and cls is not validator_for(schema, default=Draft7Validator):
        raise ValueError(f"unknown $schema {schema['$schema']!r}; use a JSON Schema draft URI")
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema at {exc.json_path}: {_clip(exc.message)}") from exc
    return cls


def load_schema_file(path: Path) -> SchemaDocument:
    """Read a JSON or YAML schema file, checking it the way an inline schema is checked."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SCHEMA_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"schema_file {path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_SCHEMA_FILE_BYTES:
        raise ValueError(f"schema_file {path}: larger than {MAX_SCHEMA_FILE_BYTES} bytes")
    try:
        # YAML is a superset of JSON, so one loader reads both.
        schema = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ValueError(f"schema_file {path}: not JSON or YAML: {exc}") from exc
    if not isinstance(schema, dict):
        raise ValueError(f"schema_file {path}: a schema must be a mapping")  # noqa: TRY004 - a config error
    try:
        validator_class(schema)
    except ValueError as exc:
        raise ValueError(f"schema_file {path}: {exc}") from exc
    return cast("SchemaDocument", schema)


class SchemaGuardrail:
    """Validates a text as JSON against a compiled schema, repairing near-JSON when allowed.

    Cost is "cheap" for ordinary answers; a huge document makes parsing and
    validation CPU-heavy, which the API's text size limit keeps in check.
    """

    cost: Cost = "cheap"

    def __init__(self, name: str, validator: Validator, *, repair: bool, max_depth: int) -> None:
        self.name = name
        self._validator = validator
        self._repair = repair
        self._max_depth = max_depth

    async def check(self, text: str, ctx: CheckContext) -> Result:
        """Judge ``text``; a stream that is still arriving is not judged (partial JSON is invalid)."""
        if not ctx.final:
            return CLEAN
        return self.judge(text)

    def judge(self, text: str) -> Result:
        """Judge a complete text: the synchronous core of ``check``."""
        if nesting_exceeds(text, self._max_depth):
            return _failed(f"JSON nests deeper than max_depth {self._max_depth}")
        try:
            document = parse_json(text)
        except ValueError as exc:
            return self._repaired(text, exc)
        return _failed(*self._errors(document))

    def _repaired(self, text: str, error: ValueError) -> Result:
        if not self._repair:
            return _unparsable(text, error)
        repaired = repair_json(text, self._max_depth, self._is_valid)
        if repaired is None:
            return _failed(f"not valid JSON and not repairable: {_describe(error)}")
        what = ", ".join(repaired.steps)
        if not repaired.accepted:
            return _failed(*(f"after repair ({what}): {message}" for message in self._errors(repaired.value)))
        new_text = json.dumps(repaired.value, ensure_ascii=False, separators=(",", ":"))
        return Result(score=1.0, detections=(Detection(CATEGORY, 1.0, f"repaired JSON: {what}"),), new_text=new_text)

    def _errors(self, document: JsonValue) -> list[str]:
        try:
            errors = list(islice(self._validator.iter_errors(document), MAX_ERRORS))
        except (Unresolvable, RecursionError) as exc:
            raise _validation_failure(exc) from exc
        return [_format_error(error) for error in errors]

    def _is_valid(self, document: JsonValue) -> bool:
        try:
            return self._validator.is_valid(document)
        except (Unresolvable, RecursionError) as exc:
            raise _validation_failure(exc) from exc


def _validation_failure(exc: Unresolvable | RecursionError) -> GuardrailFailure:
    # A $ref to a document guardd does not hold is a broken policy, not a bad
    # text; RecursionError is a backstop, as max_depth should keep it out of reach.
    if isinstance(exc, RecursionError):
        return GuardrailFailure("schema validation recursed too deep")
    return GuardrailFailure(f"schema $ref cannot be resolved: {exc}")


def _failed(*messages: str) -> Result:
    if not messages:
        return CLEAN
    return Result(score=1.0, detections=tuple(Detection(CATEGORY, 1.0, message) for message in messages))


def _unparsable(text: str, error: ValueError) -> Result:
    message = f"not valid JSON: {_describe(error)}"
    spans: tuple[Span, ...] = ()
    if isinstance(error, json.JSONDecodeError):
        spans = (Span(error.pos, min(error.pos + 1, len(text))),)
    return Result(score=1.0, detections=(Detection(CATEGORY, 1.0, message, spans),))


def _describe(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} (line {error.lineno}, column {error.colno})"
    return _clip(str(error))


def _format_error(error: ValidationError) -> str:
    return _clip(f"{error.json_path}: {error.message}")


def _clip(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 1] + "…"
