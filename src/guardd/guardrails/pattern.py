"""User regexes and banned substrings, matched with RE2 so no pattern can hang guardd.

RE2 runs in time linear in the text whatever the pattern, which rules out
catastrophic backtracking (ReDoS) from policy YAML. The price is that RE2
rejects backreferences and lookaround; such a pattern is a config error that
says so, instead of a silent fallback to a backtracking engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Literal, Self

import re2
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from guardd.guardrails.base import (
    CLEAN,
    GUARDRAIL_NAME,
    BuildEnv,
    CheckContext,
    Cost,
    Detection,
    GuardrailConfig,
    Result,
    Span,
    merge_spans,
)
from guardd.text.offsets import Edit

if TYPE_CHECKING:
    from collections.abc import Iterable

    from re2 import _Regexp

MAX_PATTERNS = 100
MAX_REGEX_CHARS = 2000
MAX_BANNED = 1000
MAX_BANNED_CHARS = 200
MAX_SPANS = 100
"""Spans reported per detection; redaction still replaces every match."""
PATTERN_MAX_MEM = 4 << 20
BANNED_MAX_MEM = 16 << 20
"""RE2 memory budgets per compiled regex (program plus DFA cache): they bound
what one policy can cost, and a pattern over budget fails at load time."""
BANNED_NAME = "banned_substrings"
BANNED_CATEGORY = "banned_substring"

# Whitespace is meaningful in a regex or a banned phrase (" ass " is not "ass"),
# so these strings opt out of the config's whitespace stripping.
Verbatim = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1)]

_UNSUPPORTED = (
    (("\\1", "\\2", "\\3", "\\4", "\\5", "\\6", "\\7", "\\8", "\\9", "\\k", "\\g", "(?P"), "a backreference"),
    (("(?=", "(?!", "(?<=", "(?<!"), "lookaround"),
    (("(?>",), "an atomic group"),
    (("++", "*+", "?+", "}+"), "a possessive quantifier"),
    (("(?(",), "a conditional"),
)
"""RE2 error text → the backtracking-only feature the pattern uses."""


class PatternSpec(BaseModel):
    """One named user regex and the category its matches are reported under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=GUARDRAIL_NAME)
    regex: Verbatim = Field(max_length=MAX_REGEX_CHARS)
    category: str = Field(default="pattern", pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")

    @model_validator(mode="after")
    def _compiles_with_re2(self) -> Self:
        # Case folding only grows the program, so a pattern that fits when folded
        # also compiles in build whatever the entry's case_sensitive says.
        compiled = compile_re2(self.regex, f"pattern '{self.name}'", PATTERN_MAX_MEM, case_sensitive=False)
        if compiled.fullmatch("") is not None:
            raise ValueError(f"pattern '{self.name}' matches the empty string, so it would match everywhere")
        return self


class PatternConfig(GuardrailConfig):
    """Policy entry for ``type: pattern``: regexes and banned substrings; can redact.

    With ``on_fail: modify`` every match is replaced by ``replacement``.
    Matching ignores case unless ``case_sensitive: true``.
    """

    can_modify = True

    type: Literal["pattern"]
    patterns: tuple[PatternSpec, ...] = Field(default=(), max_length=MAX_PATTERNS)
    banned_substrings: tuple[Annotated[Verbatim, Field(max_length=MAX_BANNED_CHARS)], ...] = Field(
        default=(), max_length=MAX_BANNED
    )
    case_sensitive: bool = False
    replacement: Annotated[str, StringConstraints(strip_whitespace=False, max_length=64)] = "[REDACTED]"

    @model_validator(mode="after")
    def _usable(self) -> Self:
        if not self.patterns and not self.banned_substrings:
            raise ValueError("set at least one of patterns or banned_substrings")
        names = [spec.name for spec in self.patterns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"pattern names must be unique; repeated: {', '.join(duplicates)}")
        if self.banned_substrings:
            self._compile(banned_alternation(self.banned_substrings), BANNED_NAME, BANNED_MAX_MEM)
        return self

    def build(self, env: BuildEnv) -> PatternGuardrail:  # noqa: ARG002 - nothing to load
        """Compile every regex once for this policy version."""
        matchers = [
            Matcher(spec.name, spec.category, self._compile(spec.regex, spec.name, PATTERN_MAX_MEM))
            for spec in self.patterns
        ]
        if self.banned_substrings:
            regex = self._compile(banned_alternation(self.banned_substrings), BANNED_NAME, BANNED_MAX_MEM)
            matchers.append(Matcher(BANNED_NAME, BANNED_CATEGORY, regex))
        redact_with = self.replacement if self.on_fail == "modify" else None
        return PatternGuardrail(self.name, tuple(matchers), redact_with)

    def _compile(self, regex: str, name: str, max_mem: int) -> _Regexp[str]:
        return compile_re2(regex, name, max_mem, case_sensitive=self.case_sensitive)


def banned_alternation(substrings: Iterable[str]) -> str:
    """One escaped alternation; longest first so a longer phrase wins over its prefix."""
    unique = sorted(set(substrings), key=lambda s: (-len(s), s))
    return "|".join(re2.escape(s) for s in unique)


def compile_re2(regex: str, what: str, max_mem: int, *, case_sensitive: bool) -> _Regexp[str]:
    """Compile with RE2; ``ValueError`` with a message a policy author can act on."""
    options = re2.Options()
    options.max_mem = max_mem
    options.case_sensitive = case_sensitive
    options.log_errors = False  # the error reaches the author as a config error instead
    try:
        return re2.compile(regex, options)
    except re2.error as exc:
        raise ValueError(_explain(what, exc, max_mem)) from exc


def _explain(what: str, exc: re2.error, max_mem: int) -> str:
    detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    if "pattern too large" in detail:
        return f"{what} is too large for RE2's {max_mem >> 20} MiB memory budget; use smaller repetition counts"
    for markers, feature in _UNSUPPORTED:
        if any(detail.endswith(marker) for marker in markers):
            return (
                f"{what} uses {feature}, which RE2 does not support; RE2 guarantees linear-time matching "
                f"so no pattern can hang guardd ({detail})"
            )
    return f"{what} is not a valid RE2 regex: {detail}"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One compiled regex and how its matches are reported."""

    name: str
    category: str
    regex: _Regexp[str]

    def spans(self, text: str, limit: int | None) -> list[Span]:
        """Code-point spans of non-empty matches, at most ``limit`` of them.

        google-re2 matches UTF-8 bytes but its ``str`` API converts offsets
        back to code points, so spans index ``text`` directly.
        """
        found = (Span(m.start(), m.end()) for m in self.regex.finditer(text) if m.end() > m.start())
        return list(islice(found, limit))


@dataclass(frozen=True, slots=True)
class PatternGuardrail:
    """Reports every pattern that matches, and redacts matches when it may modify."""

    name: str
    matchers: tuple[Matcher, ...]
    replacement: str | None
    """Set when ``on_fail: modify``: every match is replaced by it."""
    cost: Cost = "cheap"

    async def check(self, text: str, ctx: CheckContext) -> Result:  # noqa: ARG002 - text is enough
        """Match every regex over ``text``."""
        # Only redaction needs every match; reporting stops one past the limit.
        limit = None if self.replacement is not None else MAX_SPANS + 1
        hits = [(matcher, spans) for matcher in self.matchers if (spans := matcher.spans(text, limit))]
        if not hits:
            return CLEAN
        detections = tuple(_detection(matcher, spans) for matcher, spans in hits)
        if self.replacement is None:
            return Result(score=1.0, detections=detections)
        new_text, edits = redact(text, [span for _, spans in hits for span in spans], self.replacement)
        return Result(score=1.0, detections=detections, new_text=new_text, edits=edits)


def _detection(matcher: Matcher, spans: list[Span]) -> Detection:
    count = f"{MAX_SPANS}+" if len(spans) > MAX_SPANS else str(len(spans))
    message = f"{matcher.name} matched {count} time(s)"
    return Detection(matcher.category, 1.0, message, tuple(spans[:MAX_SPANS]))


def redact(text: str, spans: list[Span], replacement: str) -> tuple[str, tuple[Edit, ...]]:
    """Replace each span with ``replacement``; overlapping spans (two patterns) merge first.

    Also returns the edits, so the pipeline can map later spans back to ``text``.
    """
    edits = tuple(Edit(span.start, span.end, len(replacement)) for span in merge_spans(spans))
    pieces: list[str] = []
    pos = 0
    for edit in edits:
        pieces += (text[pos : edit.start], replacement)
        pos = edit.end
    pieces.append(text[pos:])
    return "".join(pieces), edits
