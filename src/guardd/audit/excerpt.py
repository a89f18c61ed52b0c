"""The opt-in excerpt of a decision-log record: the text's opening with PII replaced, made in a worker process.

The analysis is the ``pii`` guardrail's own (``PiiAnalyzer``, ``Redactor``
with the ``replace`` operator), loaded into a worker process, so the parent
never imports presidio. This module is what the worker imports; the writer
thread's side is ``guardd.audit.excerpter``.
"""

from __future__ import annotations

from guardd.guardrails.pii import DEFAULT_ENTITIES
from guardd.guardrails.pii_engine import AnalyzerSpec, Found, PiiAnalyzer
from guardd.guardrails.pii_redact import Redactor, RedactSpec, merge

MAX_EXCERPT_CHARS = 4096
"""Analysis costs ~2.5 ms per 300 code points on one core; past a few KB an excerpt is a copy of the text."""
LOOKAHEAD_CHARS = 128
"""Analysed past the cut, so a value that straddles it is still recognised whole: any phone number, card,
IBAN or IP address, and all but freakishly long e-mail addresses."""
EXTRA_ENTITIES = ("URL", "CRYPTO", "MAC_ADDRESS", "US_ITIN", "MEDICAL_LICENSE")
"""Beyond the guardrail's default set: in a file kept for years a miss costs more than a hidden word (URLs
carry e-mail addresses and tokens in their queries). Still left out: recognizers that fire on ordinary words
and numbers (US_DRIVER_LICENSE, US_BANK_NUMBER, US_PASSPORT, DATE_TIME), which would leave an excerpt of
placeholders, and UK_NHS, whose checksum one 10-digit number in eleven passes: it would outscore and
relabel phone numbers."""
ANALYZER = AnalyzerSpec(
    engine="patterns",
    model=None,
    language="en",
    entities=(*DEFAULT_ENTITIES, *EXTRA_ENTITIES),
    score_threshold=0.4,
    allow_list=(),
)


def redacted_prefix(text: str, found: tuple[Found, ...], limit: int, redactor: Redactor) -> str:
    """The first ``limit`` code points of ``text`` with every value found replaced by its placeholder.

    A value the cut would halve is replaced whole: its opening alone may still identify someone.
    """
    kept = tuple(f for f in merge(found) if f[1] < limit)
    end = max((limit, *(f[2] for f in kept)))
    return redactor(text[:end], kept).text


class ExcerptHandler:
    """The worker's entry point: analyse the window it is sent, return the redacted excerpt."""

    def __init__(self, analyzer: PiiAnalyzer, redactor: Redactor, limit: int) -> None:
        self._analyzer = analyzer
        self._redactor = redactor
        self._limit = limit

    def __call__(self, window: str) -> str:
        return redacted_prefix(window, self._analyzer(window), self._limit, self._redactor)


def make_handler(limit: int) -> ExcerptHandler:
    """The picklable factory sent to the worker: build and warm the analyzer once."""
    return ExcerptHandler(PiiAnalyzer.build(ANALYZER), Redactor(RedactSpec("replace")), limit)


def window(text: str, limit: int) -> str:
    """What the worker is sent: the excerpt's span and enough beyond it to see a straddling value whole."""
    return text[: limit + LOOKAHEAD_CHARS]
