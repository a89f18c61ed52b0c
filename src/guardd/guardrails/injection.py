"""Rule-based prompt-injection guardrail, cheap enough for the event loop.

``InjectionRules`` is the scoring seam: it turns one text into a ``RuleScore``
(a noisy-OR of phrase-rule hits). ``InjectionGuardrail`` thresholds that score
and reports spans. A later model-backed guardrail can call the same
``InjectionRules.score`` and fuse the rule score with its model score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

import re2
from pydantic import Field, field_validator

from guardd.guardrails.base import (
    BuildEnv,
    CheckContext,
    Cost,
    Detection,
    Guardrail,
    Result,
    Span,
    merge_spans,
)
from guardd.guardrails.injection_payloads import Payload, PayloadDecoder
from guardd.guardrails.injection_rules import BUILTIN_RULES, FAMILIES, FAMILY_MESSAGES, Family, PhraseRule
from guardd.guardrails.model_fusion import FusableConfig
from guardd.text.normalize import NormalizedOffsets, normalize, normalize_with_offsets
from guardd.text.phrase_set import PhraseSet

_MAX_SPANS_PER_RULE: Final = 16
_CUSTOM_WEIGHT: Final = 0.9
_MAX_PHRASE_CHARS: Final = 200
# Lower-cased base64/hex runs survive normalisation, so the one pass over the
# normalised text also says whether the original is worth scanning for payloads.
_PAYLOAD_HINT: Final = r"[a-z0-9+/_-]{20,}|(?:\\x[0-9a-f]{2}){8,}|(?:[0-9a-f]{2} ){7,}[0-9a-f]{2}"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule match: ``start``/``end`` index the normalised text, or the original for payloads."""

    rule: int
    family: str
    weight: float
    start: int
    end: int
    encoding: str | None = None
    """``"base64"``/``"hex"`` when found inside a decoded payload; the span is then the payload's."""


@dataclass(frozen=True, slots=True)
class RuleScore:
    """Noisy-OR of the distinct rules that matched, with the hits behind it."""

    score: float
    hits: tuple[RuleHit, ...] = ()

    def family_scores(self) -> dict[str, float]:
        """Noisy-OR per family, in first-hit order."""
        families = dict.fromkeys(h.family for h in self.hits)
        return {f: _noisy_or(_rule_weights(h for h in self.hits if h.family == f)) for f in families}


NO_HITS: Final = RuleScore(0.0)


class InjectionRules:
    """Phrase rules compiled once; ``score`` is one RE2 set pass on the common path."""

    __slots__ = ("_decoder", "_hint", "_phrases", "_rules")

    def __init__(self, rules: Sequence[PhraseRule], decoder: PayloadDecoder | None) -> None:
        self._rules = tuple(rules)
        self._decoder = decoder
        # The payload hint rides along as the last pattern of the same set.
        self._hint = len(self._rules)
        self._phrases = PhraseSet([r.pattern for r in self._rules] + [_PAYLOAD_HINT])

    def score(self, text: str, normalized: str) -> RuleScore:
        """Score ``text`` whose shared normalised form is ``normalized``."""
        matched = self._phrases.matching(normalized)
        if not matched:
            return NO_HITS
        hits = self._hits_in(normalized, matched)
        if matched[-1] == self._hint and self._decoder is not None:
            hits += self._payload_hits(self._decoder.payloads(text))
        if not hits:
            return NO_HITS
        return RuleScore(_noisy_or(_rule_weights(hits)), tuple(hits))

    def _hits_in(self, normalized: str, matched: list[int], encoding: str | None = None) -> list[RuleHit]:
        hits: list[RuleHit] = []
        for index in matched:
            if index == self._hint:
                continue
            rule = self._rules[index]
            hits += (
                RuleHit(index, rule.family, rule.weight, start, end, encoding)
                for start, end in self._phrases.spans(index, normalized, _MAX_SPANS_PER_RULE)
            )
        return hits

    def _payload_hits(self, payloads: Iterable[Payload]) -> list[RuleHit]:
        hits: list[RuleHit] = []
        for payload in payloads:
            decoded = normalize(payload.decoded)
            # Decoded offsets mean nothing to the caller: every hit points at the payload itself.
            hits += (
                RuleHit(hit.rule, hit.family, hit.weight, payload.start, payload.end, payload.encoding)
                for hit in self._hits_in(decoded, self._phrases.matching(decoded))
            )
        return hits


def _rule_weights(hits: Iterable[RuleHit]) -> Iterable[float]:
    """Each rule counts once however often it matched: repetition is not extra evidence."""
    return {hit.rule: hit.weight for hit in hits}.values()


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return round(1.0 - miss, 6)


class InjectionConfig(FusableConfig):
    """Policy entry for the prompt-injection guardrail: rules, and optionally a classifier."""

    type: Literal["injection"]
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    model_window_words: int | None = Field(default=96, ge=8, le=4096)
    """Windows by default: an attack at the end of a long email is read at the length the model learnt."""
    decode_payloads: bool = True
    """Decode base64/hex runs and scan the decoded text with the same rules."""
    max_payloads: int = Field(default=8, ge=1, le=64)
    max_payload_chars: int = Field(default=4096, ge=32, le=65_536)
    families: frozenset[Family] = frozenset(FAMILIES)
    """Built-in rule families to use; drop one that misfires on your traffic."""
    extra_phrases: tuple[str, ...] = Field(default=(), max_length=256)
    """Literal phrases (matched after normalisation, on word boundaries) that alone mean injection."""

    @field_validator("extra_phrases")
    @classmethod
    def _phrases_have_words(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for i, phrase in enumerate(phrases):
            if not normalize(phrase) or len(phrase) > _MAX_PHRASE_CHARS:
                msg = f"extra_phrases[{i}] must have 1 to {_MAX_PHRASE_CHARS} visible characters"
                raise ValueError(msg)
        return phrases

    def build(self, env: BuildEnv) -> Guardrail:
        """Compile the rules once for this policy version; with ``model:``, fuse them with its classifier."""
        return self.fuse(self._build_rules(), "injection", env)

    def _build_rules(self) -> InjectionGuardrail:
        rules = [r for r in BUILTIN_RULES if r.family in self.families]
        rules += [PhraseRule("custom", _literal(p), _CUSTOM_WEIGHT) for p in self.extra_phrases]
        decoder = PayloadDecoder(self.max_payloads, self.max_payload_chars) if self.decode_payloads else None
        return InjectionGuardrail(self.name, self.threshold, InjectionRules(rules, decoder))


def _literal(phrase: str) -> str:
    """A regex for ``phrase`` after normalisation, on word boundaries where it starts/ends with a word."""
    words = normalize(phrase)
    head = r"\b" if _is_word(words[0]) else ""
    tail = r"\b" if _is_word(words[-1]) else ""
    return head + re2.escape(words) + tail


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


@dataclass(frozen=True, slots=True)
class InjectionGuardrail:
    """Flags prompt injection from phrase rules over normalised text and decoded payloads."""

    name: str
    threshold: float
    rules: InjectionRules
    """The scoring seam; a model-backed combiner can reuse it."""
    cost: ClassVar[Cost] = "cheap"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        """Score ``text``; report one detection per rule family when the score reaches the threshold."""
        scored = self.rules.score(text, ctx.features_of(text).normalized)
        if scored.score < self.threshold or not scored.hits:
            return Result(score=scored.score)
        return Result(score=scored.score, detections=_detections(text, scored))


def _detections(text: str, scored: RuleScore) -> tuple[Detection, ...]:
    locate = _SpanLocator(text)
    detections = []
    for family, score in scored.family_scores().items():
        hits = [h for h in scored.hits if h.family == family]
        encodings = sorted({h.encoding for h in hits if h.encoding})
        message = FAMILY_MESSAGES.get(family, family)
        if encodings:
            message += f" (in decoded {'/'.join(encodings)} payload)"
        spans = merge_spans(locate(h) for h in hits)
        detections.append(Detection("injection", score, message, spans))
    return tuple(detections)


class _SpanLocator:
    """Maps hits to original-text spans; builds the offset map only if a text hit needs it."""

    __slots__ = ("_offsets", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._offsets: NormalizedOffsets | None = None

    def __call__(self, hit: RuleHit) -> Span:
        if hit.encoding is not None:
            return Span(hit.start, hit.end)
        if self._offsets is None:
            self._offsets = normalize_with_offsets(self._text)[1]
        return Span(*self._offsets.original_span(hit.start, hit.end))
