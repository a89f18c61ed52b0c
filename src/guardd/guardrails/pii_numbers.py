"""Phone and card numbers in the formats presidio's defaults miss, validated by well-kept rules.

Phones: presidio's ``PhoneRecognizer`` runs libphonenumber's matcher once per
region, scanning the whole text each time (~1 ms per KB per region here), so
its default covers 8 regions and guardd's used to cover one. ``phone_spans``
finds digit runs once, then asks libphonenumber (the ``phonenumbers``
package) whether each is a valid number: in international form (+CC) for any
country, in national form for each configured region. 20 regions cost about
what 2 did.

Cards: presidio's pattern wants 4-4-4-4-style groups starting 1/3/4/5/6, so
it misses Mastercard's 2-series, Diners' 4-6-4, 19-digit cards and 12-digit
Maestro. ``card_spans`` takes any 12-19-digit run (single spaces or dashes
between digits) that starts with a card network's leading digit (2-6) and
passes the Luhn check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

import phonenumbers

from guardd.guardrails.pii_recognizers import luhn_valid

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

DEFAULT_PHONE_REGIONS: Final = (
    "US", "CA", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "PL",
    "IN", "BR", "MX", "AU", "JP", "SG",
)  # fmt: skip
"""National formats recognised by default: North America, 13 European countries, India, Brazil, Mexico,
Australia, Japan, Singapore. International (+CC) numbers are recognised for every country whatever this says."""
_PHONE_CANDIDATE: Final = re.compile(r"[+(]?\d[\d\s()./-]{5,24}\d")
_MIN_PHONE_DIGITS: Final = 7
_MARGIN: Final = 3
_PHONE_CONTEXT: Final = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|contact|reach me|number|"
    r"telefon|handy|rufnummer|anrufen|ruf|t[ée]l[ée]phone|portable|appel|joindre|tel[ée]fono|m[óo]vil|celular|llamar|"
    r"cellulare|chiamare|telefoon|bellen|ligar|numero|n[úu]mero|nummer)\b|☎|📞|電話"
)
"""Words before a bare digit run that say it is a phone number (English, German, French, Spanish, Italian,
Dutch, Portuguese, Japanese)."""
_DATE_INSIDE: Final = re.compile(
    r"(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d\d"
)
_DECIMALS: Final = re.compile(r"\d\.\d+\s+\d+\.\d")
_IPV4: Final = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_THOUSANDS: Final = re.compile(r"^\(?\d{1,3}(?:[.,]\d{3})+$|^\d{1,3}(?:[ .,]?\d{3})+\s*-\s*\d{1,3}(?:[ .,]?\d{3})+$")
_IBAN_HEAD: Final = re.compile(r"\b[A-Z]{2}\d{2} ?$")
"""DE44 5001 0517 5407 3249 31: the digits after an IBAN's country code and check digits are not a card."""
_SSN_SHAPE: Final = re.compile(r"^\d{3}-\d{2}-\d{4}$")
"""536-90-4399 is how a US SSN is written; no numbering plan writes its phones 3-2-4 (Poland's 536 904 399 is 3-3-3)."""
_DECIMAL: Final = re.compile(r"^\d+[.,]\d+$")
"""3.000.000 or 29 000-24 000: amounts and ranges written with thousands separators."""
_CARD_CANDIDATE: Final = re.compile(r"(?<![\w+-])[2-6]\d(?:[ -]?\d){10,17}(?![\w-])")
_CARD_DIGITS: Final = range(12, 20)


def phone_spans(text: str, regions: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(start, end, region) of each valid phone number in ``text``; international ones in any country.

    libphonenumber's own matcher decides (it knows dates, times and numbering plans), run per region only
    on the digit-rich stretches of the text: a 1 KB prompt has a few, so 20 regions cost about one.
    """
    seen: set[tuple[int, int]] = set()
    for offset, snippet in _digit_stretches(text):
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(snippet, region, leniency=phonenumbers.Leniency.VALID):
                span = (offset + match.start, offset + match.end)
                if span in seen or _is_card(match.raw_string) or _not_a_phone(text, *span):
                    continue
                if match.raw_string.isdigit() and not _PHONE_CONTEXT.search(text, max(0, span[0] - 40), span[0]):
                    continue  # a bare run of digits is an id or a count unless the text says it is a phone
                seen.add(span)
                yield span[0], span[1], phonenumbers.region_code_for_number(match.number) or region


def _not_a_phone(text: str, start: int, end: int) -> bool:
    """Part of a longer token (a version, an id, a hash) or a date or list of decimals inside: not a number to call.

    libphonenumber reads ``0 / 2022-11-29`` out of ``1.5.0 / 2022-11-29`` and ``0-20200324143707`` out of a Go
    module version; on 11k developer prompts and documents these were nearly all of its false positives.
    """
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    value = text[start:end]
    return (
        before.isalnum() or before in "._-/#=" or after.isalnum() or after in "_/"
        or (after == "." and text[end + 1 : end + 2].isdigit())
        or sum(c.isdigit() for c in value) < _MIN_PHONE_DIGITS
        or bool(_DATE_INSIDE.search(value) or _DECIMALS.search(value) or _IPV4.match(value))
        or bool(_THOUSANDS.match(value) or _DECIMAL.match(value) or _SSN_SHAPE.match(value))
    )  # fmt: skip


def _digit_stretches(text: str) -> Iterator[tuple[int, str]]:
    """Each stretch that could hold a phone number, with a few characters around it for the matcher's checks."""
    for match in _PHONE_CANDIDATE.finditer(text):
        if sum(c.isdigit() for c in match.group()) >= _MIN_PHONE_DIGITS:
            start, end = max(0, match.start() - _MARGIN), min(len(text), match.end() + _MARGIN)
            yield start, text[start:end]


def card_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each 12-19-digit, Luhn-valid run that starts like a card number (never after a +)."""
    for match in _CARD_CANDIDATE.finditer(text):
        iban = _IBAN_HEAD.search(text, max(0, match.start() - 5), match.start())
        if _is_card(match.group()) and iban is None:
            yield match.start(), match.end()


def _is_card(value: str) -> bool:
    """A national phone number and a card can share digits; a Luhn-valid card-shaped run is read as a card."""
    digits = sum(c.isdigit() for c in value)
    return (
        value[:1] in "23456"
        and digits in _CARD_DIGITS
        and luhn_valid(value)
        and _one_separator_style(value)
        and all(c.isdigit() or c in " -" for c in value)
    )


def _one_separator_style(value: str) -> bool:
    """A run like 4111 1111-1111 1111 mixes separators: more likely two numbers side by side than one card."""
    return not (" " in value and "-" in value)


PHONE_SCORE: Final = 0.6
"""A number libphonenumber calls valid for a region: above the default threshold (0.4) without context
words, unlike presidio's 0.4, since validity per region's numbering plan is strong evidence already."""
CARD_SCORE: Final = 0.9


def recognizers(language: str, phone_regions: Sequence[str], entities: Collection[str]) -> list[EntityRecognizer]:
    """Presidio recognizers for the phone and card entities among ``entities`` (workers only: imports presidio)."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: PLC0415 - workers only

    class _Numbers(EntityRecognizer):
        def __init__(self, entity: str, find: Callable[[str], Iterable[tuple[int, int]]], score: float) -> None:
            super().__init__(supported_entities=[entity], supported_language=language, name=f"guardd-{entity}")
            self._find = find
            self._score = score

        def load(self) -> None:
            """Nothing to load: the rules are code and libphonenumber's metadata."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:  # noqa: ANN401, ARG002 - presidio's signature
            entity = self.supported_entities[0]
            return [RecognizerResult(entity, span[0], span[1], self._score) for span in self._find(text)]

    out: list[EntityRecognizer] = []
    if "PHONE_NUMBER" in entities:
        out.append(
            _Numbers("PHONE_NUMBER", lambda text: ((a, b) for a, b, _ in phone_spans(text, phone_regions)), PHONE_SCORE)
        )
    if "CREDIT_CARD" in entities:
        out.append(_Numbers("CREDIT_CARD", card_spans, CARD_SCORE))
    return out
