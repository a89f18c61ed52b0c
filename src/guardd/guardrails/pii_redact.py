"""Redaction of what the analyzer found, with presidio-anonymizer's operators.

Runs next to the analyzer in the worker, so the parent process never imports
presidio. Overlapping findings (two recognizers on one value) merge into one
redaction covering both, labelled with the higher-scoring entity: a partial
overlap must not leave the tail of a value in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from guardd.guardrails.pii_engine import AnalyzerSpec, Found, PiiAnalyzer
from guardd.text.offsets import Edit

Operator = Literal["replace", "mask", "hash", "redact"]
HASH_CHARS = 16
"""Hex digits of the salted SHA-256 kept in a hash token: 64 bits, ample to tell values apart."""


@dataclass(frozen=True, slots=True)
class RedactSpec:
    """How matches are rewritten; picklable, sent to the workers with the analyzer spec."""

    operator: Operator
    keep_last: int = 4
    mask_char: str = "*"
    salt: bytes = b""


@dataclass(frozen=True, slots=True)
class Redaction:
    """A rewritten text and the edits that made it (old coordinates)."""

    text: str
    edits: tuple[Edit, ...]


def merge(found: tuple[Found, ...]) -> list[Found]:
    """Overlapping findings as one span each, labelled with the best-scoring entity."""
    merged: list[Found] = []
    for entity, start, end, score in sorted(found, key=lambda f: (f[1], -f[3], -f[2])):
        if merged and start < merged[-1][2]:
            best = merged[-1]
            merged[-1] = (best[0], best[1], max(best[2], end), max(best[3], score))
        else:
            merged.append((entity, start, end, score))
    return merged


class Redactor:
    """Applies one operator to every merged finding."""

    def __init__(self, spec: RedactSpec) -> None:
        from presidio_anonymizer.operators import Hash, Mask  # noqa: PLC0415 - only workers import presidio

        self._spec = spec
        self._hash = Hash()
        self._mask = Mask()

    def token(self, entity: str, value: str) -> str:
        """What ``value`` (found as ``entity``) becomes."""
        spec = self._spec
        if spec.operator == "replace":
            return f"<{entity}>"
        if spec.operator == "redact":
            return ""
        if spec.operator == "mask":
            hidden = max(0, len(value) - spec.keep_last)
            params = {"masking_char": spec.mask_char, "chars_to_mask": hidden, "from_end": False}
            return str(self._mask.operate(value, params))
        digest = self._hash.operate(value, {"hash_type": "sha256", "salt": spec.salt})
        return f"<{entity}:{digest[:HASH_CHARS]}>"

    def __call__(self, text: str, found: tuple[Found, ...]) -> Redaction:
        pieces: list[str] = []
        edits: list[Edit] = []
        pos = 0
        for entity, start, end, _ in merge(found):
            token = self.token(entity, text[start:end])
            pieces += (text[pos:start], token)
            edits.append(Edit(start, end, len(token)))
            pos = end
        pieces.append(text[pos:])
        return Redaction("".join(pieces), tuple(edits))


@dataclass(frozen=True, slots=True)
class PiiVerdict:
    """What a worker sends back per request: the findings and, when redacting, the new text."""

    found: tuple[Found, ...]
    redaction: Redaction | None


class PiiHandler:
    """The per-request entry point inside a worker: analyse, then redact if configured to."""

    def __init__(self, analyzer: PiiAnalyzer, redactor: Redactor | None) -> None:
        self._analyzer = analyzer
        self._redactor = redactor

    def __call__(self, text: str) -> PiiVerdict:
        found = self._analyzer(text)
        if not found or self._redactor is None:
            return PiiVerdict(found, None)
        return PiiVerdict(found, self._redactor(text, found))


def make_handler(analyzer: AnalyzerSpec, redact: RedactSpec | None) -> PiiHandler:
    """The picklable factory sent to each worker: build once, then call per request."""
    return PiiHandler(PiiAnalyzer.build(analyzer), None if redact is None else Redactor(redact))
