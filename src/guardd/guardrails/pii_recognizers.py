"""Custom PII recognizers written in policy YAML, built with presidio's own machinery.

The YAML shape is presidio's recognizer dict (``supported_entity``,
``patterns: [{name, regex, score}]``, ``context``, ``deny_list``) so a
recognizer written for presidio works here unchanged; guardd adds
``checksum``, a validation presidio's YAML form cannot express. Each entry is
built with ``PatternRecognizer.from_dict``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

if TYPE_CHECKING:
    from presidio_analyzer import PatternRecognizer

Checksum = Literal["none", "luhn", "mod97"]
ENTITY_NAME = r"^[A-Z][A-Z0-9_]{0,62}$"
Regex = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=2000)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class PatternEntry(BaseModel):
    """One regex of a custom recognizer and the score a match gets before context and checksum."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    regex: Regex
    score: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        try:
            re.compile(self.regex)
        except re.error as exc:
            raise ValueError(f"pattern '{self.name}' is not a valid regex: {exc}") from None
        return self


class RecognizerConfig(BaseModel):
    """A custom recognizer entry in policy YAML (presidio's recognizer dict plus ``checksum``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    supported_entity: str = Field(pattern=ENTITY_NAME)
    patterns: tuple[PatternEntry, ...] = Field(default=(), max_length=50)
    context: tuple[Word, ...] = Field(default=(), max_length=100)
    deny_list: tuple[Word, ...] = Field(default=(), max_length=10_000)
    checksum: Checksum = "none"

    @model_validator(mode="after")
    def _finds_something(self) -> Self:
        if not self.patterns and not self.deny_list:
            raise ValueError(f"recognizer '{self.name}' needs patterns or a deny_list")
        return self

    def spec(self) -> RecognizerSpec:
        return RecognizerSpec(
            name=self.name,
            entity=self.supported_entity,
            patterns=tuple((p.name, p.regex, p.score) for p in self.patterns),
            context=self.context,
            deny_list=self.deny_list,
            checksum=self.checksum,
        )


class RecognizersFile(BaseModel):
    """A presidio-style recognizers YAML file: ``recognizers: [...]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recognizers: tuple[RecognizerConfig, ...] = Field(min_length=1, max_length=100)


@dataclass(frozen=True, slots=True)
class RecognizerSpec:
    """The picklable form of a custom recognizer, sent to the workers."""

    name: str
    entity: str
    patterns: tuple[tuple[str, str, float], ...]
    context: tuple[str, ...]
    deny_list: tuple[str, ...]
    checksum: Checksum

    def as_presidio_dict(self, language: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "supported_entity": self.entity,
            "supported_language": language,
            "context": list(self.context) or None,
            "deny_list": list(self.deny_list) or None,
        }
        if self.patterns:
            entry["patterns"] = [{"name": n, "regex": r, "score": s} for n, r, s in self.patterns]
        return entry


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by card and many account numbers (non-digits are ignored)."""
    numbers = [int(c) for c in digits if c.isdigit()]
    if len(numbers) < 2:  # noqa: PLR2004 - a check digit needs something to check
        return False
    total = sum(numbers[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in numbers[-2::-2])
    return total % 10 == 0


def mod97_valid(value: str) -> bool:
    """ISO 7064 mod 97-10 as used by IBANs: move four characters to the end, letters to numbers."""
    compact = "".join(c for c in value.upper() if c.isalnum())
    if len(compact) < 5:  # noqa: PLR2004 - shorter than any IBAN-like code
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


CHECKSUMS = {"luhn": luhn_valid, "mod97": mod97_valid}


def build_recognizer(spec: RecognizerSpec, language: str) -> PatternRecognizer:
    """Presidio's ``PatternRecognizer.from_dict``, wrapped with the checksum if one is set."""
    from presidio_analyzer import PatternRecognizer  # noqa: PLC0415 - only workers import presidio

    entry = spec.as_presidio_dict(language)
    if spec.checksum == "none":
        return PatternRecognizer.from_dict(entry)
    check = CHECKSUMS[spec.checksum]

    class ChecksumRecognizer(PatternRecognizer):
        """A pattern match counts only if its checksum holds (presidio's validate_result hook)."""

        def validate_result(self, pattern_text: str) -> bool:
            return check(pattern_text)

    return ChecksumRecognizer.from_dict(entry)
