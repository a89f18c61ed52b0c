"""Bounded decoding of base64 and hex runs hidden in a prompt.

Attackers wrap "ignore previous instructions" in base64 or hex and ask the
model to decode it. We decode at most ``max_payloads`` runs of at most
``max_chars`` characters each and never decode what a payload decodes to, so
a crafted prompt cannot make this quadratic or recursive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

import re2

Encoding = Literal["base64", "hex"]

_CANDIDATE: Final = (
    r"(?:\\x[0-9A-Fa-f]{2}){8,}"  # \x69\x67\x6e...
    r"|(?:[0-9A-Fa-f]{2}\s){7,}[0-9A-Fa-f]{2}"  # 69 67 6e ...
    r"|[A-Za-z0-9+/_-]{20,}={0,2}"  # base64 (standard or URL-safe), or bare hex
)
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_MIN_DECODED: Final = 8
_MIN_PRINTABLE: Final = 0.9


@dataclass(frozen=True, slots=True)
class Payload:
    """A decoded run and where it sits in the original text (half-open code points)."""

    start: int
    end: int
    encoding: Encoding
    decoded: str


class PayloadDecoder:
    """Finds and decodes base64/hex runs; built once per policy load."""

    __slots__ = ("_candidate", "_max_chars", "_max_payloads")

    def __init__(self, max_payloads: int, max_chars: int) -> None:
        self._max_payloads = max_payloads
        self._max_chars = max_chars
        self._candidate = re2.compile(_CANDIDATE)

    def payloads(self, text: str) -> Iterator[Payload]:
        """Decoded payloads in order of appearance; undecodable runs count towards the bound."""
        for tried, match in enumerate(self._candidate.finditer(text)):
            if tried == self._max_payloads:
                return
            found = _decode(match.group()[: self._max_chars])
            if found is not None:
                yield Payload(match.start(), match.end(), found[0], found[1])


def _decode(run: str) -> tuple[Encoding, str] | None:
    if run.startswith("\\x") or len(run.split()) > 1:
        return _as_text("hex", _unhex("".join(run.replace("\\x", "").split())))
    if len(run) % 2 == 0 and _HEX_DIGITS.issuperset(run):
        decoded = _as_text("hex", _unhex(run))
        if decoded is not None:
            return decoded
    return _as_text("base64", _unbase64(run))


def _unhex(digits: str) -> bytes | None:
    try:
        return bytes.fromhex(digits[: len(digits) // 2 * 2])
    except ValueError:
        return None


def _unbase64(run: str) -> bytes | None:
    body = run.rstrip("=")
    body = body[: len(body) - (len(body) % 4 == 1)]
    altchars = b"-_" if ("-" in body or "_" in body) else None
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def _as_text(encoding: Encoding, raw: bytes | None) -> tuple[Encoding, str] | None:
    """Decoded bytes count only if they read as text: binary blobs and hashes are not prompts."""
    if raw is None or len(raw) < _MIN_DECODED:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
    if printable < _MIN_PRINTABLE * len(decoded):
        return None
    return encoding, decoded
