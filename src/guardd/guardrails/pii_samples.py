"""Generated phone and card numbers in many locales and formats, in sentences, with gold spans.

For the PII quality test and ``benchmarks/eval_pii.py``. Phones are real
numbering-plan numbers: libphonenumber's example number for each region and
type (mobile, fixed line) with its last digits redrawn until it is valid
again, written in national, international and E.164 form. Cards are drawn per
network (leading digits and lengths as the networks publish them) with a
correct Luhn digit, plain, grouped by spaces or by dashes. Every sentence also
carries numbers that are neither (dates, times, amounts, order numbers,
versions, postcodes, IP addresses), so precision is measured too.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import phonenumbers

from guardd.guardrails.pii_numbers import DEFAULT_PHONE_REGIONS
from guardd.guardrails.pii_recognizers import luhn_valid

INTERNATIONAL_ONLY: Final = ("KR", "ZA", "NG", "AR", "TR", "EG", "PH", "NZ")
"""Countries outside the default regions: only their +CC form is expected to be found."""
_FORMATS: Final = {
    "national": phonenumbers.PhoneNumberFormat.NATIONAL,
    "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    "e164": phonenumbers.PhoneNumberFormat.E164,
}
_BARE_SHARE: Final = 0.3
_TYPES: Final = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
CARD_NETWORKS: Final = (
    ("visa", ("4",), (16, 19)),
    ("mastercard", ("51", "52", "53", "54", "55", "2221", "2500", "2720"), (16,)),
    ("amex", ("34", "37"), (15,)),
    ("diners", ("36", "38", "300", "305"), (14,)),
    ("discover", ("6011", "65", "644"), (16, 19)),
    ("jcb", ("35",), (16,)),
    ("unionpay", ("62",), (16, 17, 18, 19)),
    ("maestro", ("50", "56", "58", "63", "67"), (12, 13, 15, 19)),
)
_GROUPS: Final = {12: (4, 4, 4), 13: (4, 4, 5), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4),
                  17: (4, 4, 4, 5), 18: (4, 4, 4, 6), 19: (4, 4, 4, 4, 3)}  # fmt: skip
_PHONE_SENTENCES: Final = (
    "Call me at {x} after 6 pm on 2024-03-15.",
    "Ruf mich bitte unter {x} an, Bestellung 48213 vom 15.03.2024.",
    "Mi número es {x}; el pedido cuesta 1.234,56 EUR.",
    "Vous pouvez me joindre au {x} avant 18h30.",
    "Contact: {x} (office hours 9:00-17:30, version 2.14.1).",
    "My new mobile is {x}, the old one is disconnected. Zip 94103.",
)
_CARD_SENTENCES: Final = (
    "Please charge card {x}, expiry 09/27, order #48213.",
    "Meine Kreditkarte: {x}, gültig bis 11/26.",
    "Tarjeta {x} - importe 129,99 EUR el 15/03/2024.",
    "card number {x} was declined at 10:42 on server 192.168.1.20",
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sentence and its gold (entity, start, end) spans."""

    text: str
    gold: tuple[tuple[str, int, int], ...]
    style: str
    """e.g. ``phone/DE/national`` or ``card/amex/spaces``: what a miss is reported under."""


def phone_samples(seed: int, per_format: int = 2, regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> list[Sample]:
    """National, international and E.164 numbers of ``regions``; E.164 and international of a few others."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
    out = []
    for region in (*regions, *INTERNATIONAL_ONLY):
        formats = _FORMATS if region in regions else {k: v for k, v in _FORMATS.items() if k != "national"}
        for kind in _TYPES:
            for name, style in formats.items():
                for _ in range(per_format):
                    number = _phone(region, kind, rng)
                    if number is not None:
                        written, kind_name = phonenumbers.format_number(number, style), name
                        if name == "national" and rng.random() < _BARE_SHARE:  # "0301234567": digits only
                            written, kind_name = "".join(c for c in written if c.isdigit()), "national-digits"
                        sentence = rng.choice(_PHONE_SENTENCES)
                        out.append(_embed(sentence, written, "PHONE_NUMBER", f"phone/{region}/{kind_name}"))
    return out


def _phone(region: str, kind: int, rng: random.Random) -> phonenumbers.PhoneNumber | None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return None
    national = str(example.national_number)
    for _ in range(50):
        tail = "".join(str(rng.randrange(10)) for _ in range(3))
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(national[:-3] + tail)
        )
        if phonenumbers.is_valid_number(candidate):
            return candidate
    return example


def card_samples(seed: int, per_network: int = 12) -> list[Sample]:
    """Card numbers of every network and length, plain, space-grouped and dash-grouped."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
    out = []
    for network, prefixes, lengths in CARD_NETWORKS:
        for i in range(per_network):
            digits = _card(rng.choice(prefixes), lengths[i % len(lengths)], rng)
            style = ("plain", "spaces", "dashes")[i % 3]
            written = digits if style == "plain" else _grouped(digits, " " if style == "spaces" else "-")
            out.append(_embed(rng.choice(_CARD_SENTENCES), written, "CREDIT_CARD", f"card/{network}/{style}"))
    return out


def _card(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _grouped(digits: str, separator: str) -> str:
    parts, start = [], 0
    for size in _GROUPS[len(digits)]:
        parts.append(digits[start : start + size])
        start += size
    return separator.join(parts)


def _embed(sentence: str, value: str, entity: str, style: str) -> Sample:
    start = sentence.index("{x}")
    return Sample(sentence.replace("{x}", value), ((entity, start, start + len(value)),), style)
