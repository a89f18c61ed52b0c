"""Strict JSON parsing with a depth guard, and a bounded repair of near-JSON LLM output.

Repairs are syntactic only and deterministic: strip a markdown code fence,
drop prose around the first balanced object or array, drop trailing commas,
turn typographic double quotes into ASCII ones, and close brackets that a
truncated completion left open. Work is linear in the text for each of a
handful of attempts, so a hostile text cannot make repair expensive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pydantic import JsonValue

# A string token (possibly unterminated) or a structural character. Possessive
# quantifiers keep a failed match from backtracking, so scanning stays linear
# even for texts such as '"\"\"\"...'.
_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+(?P<closed>")?|[{}\[\],]', re.DOTALL)
# The closing fence must sit on its own line (as in CommonMark), so a "```"
# inside a JSON string does not end the block.
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\r?\n(?P<body>.*?)(?:\r?\n[ \t]*```[ \t]*(?:\r?\n|\Z)|\Z)", re.DOTALL)
_SMART_DOUBLE_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'))
_OPENERS = {"{": "}", "[": "]"}
_MAX_STARTS = 4
"""How many ``{``/``[`` positions to try as the start of the document: prose
such as "see [1]" may come before the real JSON, but work stays bounded."""


@dataclass(frozen=True, slots=True)
class Repaired:
    """A document recovered from near-JSON, and what was done to get it."""

    value: JsonValue
    steps: tuple[str, ...]
    accepted: bool = False
    """Whether the caller's ``accept`` approved ``value`` (so it need not check again)."""


def parse_json(text: str) -> JsonValue:
    """Parse strict JSON; raises ``ValueError`` (NaN and Infinity are not JSON)."""
    value: JsonValue = json.loads(text, parse_constant=_reject_constant)
    return value


def _reject_constant(name: str) -> JsonValue:
    raise ValueError(f"{name} is not valid JSON")


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``.

    Runs before any parser so a text like 100k ``[`` never reaches recursive
    code (the json decoder, jsonschema, json.dumps). It stops at the first
    level past the limit, so the hostile case is the cheapest.
    """
    if text.count("{") + text.count("[") <= limit:
        return False
    depth = 0
    for match in _TOKEN.finditer(text):
        char = text[match.start()]
        if char in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif char in "}]":
            depth = max(0, depth - 1)
    return False


def repair_json(text: str, max_depth: int, accept: Callable[[JsonValue], bool]) -> Repaired | None:
    """Recover a JSON document from ``text``, or ``None`` when no bounded repair parses.

    Of the documents that parse, the first that ``accept`` approves wins (the
    prose may hold a "[1]" before the real answer); failing that, the first.
    """
    fallback = None
    for repaired in _repairs(text, max_depth):
        if accept(repaired.value):
            return replace(repaired, accepted=True)
        if fallback is None:
            fallback = repaired
    return fallback


def _repairs(text: str, max_depth: int) -> Iterator[Repaired]:
    body = _strip_fence(text)
    if body is not text:
        # The fenced block first; the whole text too, in case the fence held something else.
        yield from _repair_quotes(body, max_depth, ["removed markdown code fence"])
    yield from _repair_quotes(text, max_depth, [])


def _repair_quotes(body: str, max_depth: int, steps: list[str]) -> Iterator[Repaired]:
    yield from _repair_body(body, max_depth, steps)
    unquoted = body.translate(_SMART_DOUBLE_QUOTES)
    if unquoted != body:
        yield from _repair_body(unquoted, max_depth, [*steps, "replaced typographic quotes"])


def _strip_fence(text: str) -> str:
    match = _FENCE.search(text)
    return text if match is None else match.group("body")


def _repair_body(body: str, max_depth: int, steps: list[str]) -> Iterator[Repaired]:
    for start in _candidate_starts(body):
        scan = _Scanner(body, start, max_depth).run()
        if scan is None:
            continue
        try:
            value = parse_json(scan.text)
        except ValueError:
            continue
        yield Repaired(value, (*steps, *_context_steps(body, start, scan.end), *scan.steps))


def _candidate_starts(body: str) -> list[int]:
    starts: list[int] = []
    for match in _TOKEN.finditer(body):
        if body[match.start()] in _OPENERS:
            starts.append(match.start())
            if len(starts) == _MAX_STARTS:
                break
    return starts


def _context_steps(body: str, start: int, end: int) -> list[str]:
    steps = []
    if body[:start].strip():
        steps.append("dropped text before the JSON")
    if body[end:].strip():
        steps.append("dropped text after the JSON")
    return steps


@dataclass(frozen=True, slots=True)
class _Scan:
    text: str
    end: int
    steps: tuple[str, ...]


@dataclass(slots=True)
class _Scanner:
    """One pass from an opening bracket to its match, fixing commas on the way."""

    body: str
    start: int
    max_depth: int
    out: list[str] = field(default_factory=list)
    closers: list[str] = field(default_factory=list)
    comma_at: int | None = None
    """Index in ``out`` of the last comma, while only whitespace has followed it."""
    commas_dropped: int = 0

    def run(self) -> _Scan | None:
        pos = self.start
        for match in _TOKEN.finditer(self.body, self.start):
            self._gap(self.body[pos : match.start()])
            pos = match.end()
            if not self._token(match) or len(self.closers) > self.max_depth:
                return None
            if not self.closers:
                return _Scan("".join(self.out), pos, self._steps(closed=0))
        return self._close_truncated(self.body[pos:])

    def _gap(self, gap: str) -> None:
        if gap.strip():
            self.comma_at = None
        self.out.append(gap)

    def _token(self, match: re.Match[str]) -> bool:
        token = match.group()
        if token.startswith('"'):
            # An unterminated string means the text was cut inside a value:
            # closing it would invent content, so that is not repaired.
            self.comma_at = None
            self.out.append(token)
            return match.group("closed") is not None
        if token == ",":  # noqa: S105 - a JSON token, not a password
            self.comma_at = len(self.out)
        elif token in _OPENERS:
            self.comma_at = None
            self.closers.append(_OPENERS[token])
        elif not self._close(token):
            return False
        self.out.append(token)
        return True

    def _close(self, closer: str) -> bool:
        if not self.closers or self.closers.pop() != closer:
            return False
        self._drop_trailing_comma()
        return True

    def _drop_trailing_comma(self) -> None:
        if self.comma_at is not None:
            self.out[self.comma_at] = ""
            self.commas_dropped += 1
            self.comma_at = None

    def _close_truncated(self, tail: str) -> _Scan | None:
        self._gap(tail)
        self._drop_trailing_comma()
        closed = len(self.closers)
        self.out.extend(reversed(self.closers))
        return _Scan("".join(self.out), len(self.body), self._steps(closed))

    def _steps(self, closed: int) -> tuple[str, ...]:
        steps = []
        if self.commas_dropped:
            steps.append(f"removed {self.commas_dropped} trailing comma(s)")
        if closed:
            steps.append(f"closed {closed} unclosed bracket(s) of a truncated document")
        return tuple(steps)
