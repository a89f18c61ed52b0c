"""The model-free grounding signal: numbers in the answer that no context passage contains.

Numbers, years, dates, percentages and amounts are where fabrication is both
common and cheap to catch. "1,200", "1200" and "1.2k" differ as text, so each
number is compared in a canonical form; small spelled-out numbers in the
context ("three") count as their digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from guardd.guardrails.base import Span

_NUMBER: Final = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:st|nd|rd|th)?(?![\w])")
_WORDS: Final = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_SPELLED: Final = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_TRIVIAL: Final = frozenset({"0", "1"})
"""Too common to be evidence either way: "one of the", "a 1:1 call"."""


@dataclass(frozen=True, slots=True)
class NumberMention:
    """A number as written in the answer, its canonical value, and where it is."""

    written: str
    value: str
    span: Span


def canonical(integer: str, fraction: str | None) -> str:
    """Canonical digits: 1,200 → 1200, 3.50 → 3.5, 007 → 7."""
    text = integer.replace(",", "") + (f".{fraction}" if fraction else "")
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:  # pragma: no cover - the regex only admits digits
        return text


def mentions(text: str) -> Iterator[NumberMention]:
    """Every number written with digits in ``text``."""
    for match in _NUMBER.finditer(text):
        yield NumberMention(match.group(0), canonical(match.group(1), match.group(2)), Span(match.start(), match.end()))


def context_numbers(passages: Sequence[str]) -> frozenset[str]:
    """Canonical values of every number the context states, in digits or small words."""
    values: set[str] = set()
    for passage in passages:
        values.update(m.value for m in mentions(passage))
        values.update(_WORDS[w.lower()] for w in _SPELLED.findall(passage))
    return frozenset(values)


def unsupported_numbers(answer: str, passages: Sequence[str]) -> list[NumberMention]:
    """Numbers in ``answer`` absent from every passage (0 and 1 are never reported)."""
    known = context_numbers(passages)
    return [m for m in mentions(answer) if m.value not in known and m.value not in _TRIVIAL]
