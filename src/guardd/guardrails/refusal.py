"""Rule-based refusal detector for LLM completions (output stage).

A refusal rarely sits only at the very start: models open with a preamble
("Great question! However, I can't help with that.") or an apology, so rules
match anywhere in the normalised completion. Two things lower a hit's weight:
how deep into the answer it sits (a caveat late in a long, helpful answer is
not a refusal of the request) and a following "but here is what I can say"
(a partial refusal: still reported, with a lower score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Literal

import re2

from guardd.guardrails.base import (
    BuildEnv,
    CheckContext,
    Cost,
    Detection,
    Guardrail,
    Result,
    Span,
    Stage,
)
from guardd.guardrails.model_fusion import FusableConfig
from guardd.guardrails.refusal_rules import PARTIAL, RULES
from guardd.text.normalize import normalize_with_offsets
from guardd.text.phrase_set import PhraseSet

_EARLY_CHARS: Final = 200
_LATE_CHARS: Final = 2000
_LATE_FACTOR: Final = 0.5
_PARTIAL_FACTOR: Final = 0.7
_MAX_SPANS: Final = 16
_PARTIAL_WINDOW: Final = 200  # chars after a hit searched for "but here is what I can do"


@dataclass(frozen=True, slots=True)
class RefusalHit:
    """One matched rule, its start/end in the normalised text and its adjusted weight."""

    start: int
    end: int
    weight: float
    partial: bool


class RefusalRules:
    """Refusal phrase rules compiled once; one RE2 set pass on the common path."""

    __slots__ = ("_partial", "_phrases", "_weights")

    def __init__(self) -> None:
        self._weights = tuple(w for _, w in RULES)
        self._phrases = PhraseSet([p for p, _ in RULES])
        self._partial = re2.compile(PARTIAL)

    def hits(self, normalized: str) -> tuple[RefusalHit, ...]:
        """The strongest hit of each rule that matched, adjusted for position and partiality."""
        return tuple(
            hit for i in self._phrases.matching(normalized) if (hit := self._best_hit(normalized, i)) is not None
        )

    def _best_hit(self, normalized: str, index: int) -> RefusalHit | None:
        best: RefusalHit | None = None
        for start, end in self._phrases.spans(index, normalized, _MAX_SPANS):
            partial = self._partial.search(normalized[end : end + _PARTIAL_WINDOW]) is not None
            weight = self._weights[index] * _depth_factor(start) * (_PARTIAL_FACTOR if partial else 1.0)
            if best is None or weight > best.weight:
                best = RefusalHit(start, end, weight, partial)
        return best


def _depth_factor(position: int) -> float:
    """1 within the opening, falling linearly to ``_LATE_FACTOR`` by ``_LATE_CHARS``."""
    if position <= _EARLY_CHARS:
        return 1.0
    depth = min(1.0, (position - _EARLY_CHARS) / (_LATE_CHARS - _EARLY_CHARS))
    return 1.0 - (1.0 - _LATE_FACTOR) * depth


def refusal_score(hits: tuple[RefusalHit, ...]) -> float:
    """Noisy-OR of the (already adjusted) hit weights."""
    miss = 1.0
    for hit in hits:
        miss *= 1.0 - hit.weight
    return round(1.0 - miss, 6)


class RefusalConfig(FusableConfig):
    """Policy entry for the refusal detector (output stage only): rules, and optionally a classifier."""

    stages: ClassVar[frozenset[Stage]] = frozenset({"output"})

    type: Literal["refusal"]

    def build(self, env: BuildEnv) -> Guardrail:
        """Compile the rules once for this policy version; with ``model:``, fuse them with its classifier."""
        return self.fuse(RefusalGuardrail(self.name, self.threshold, RefusalRules()), "refusal", env)


@dataclass(frozen=True, slots=True)
class RefusalGuardrail:
    """Flags completions in which the model refused, fully or partly."""

    name: str
    threshold: float
    rules: RefusalRules
    """The scoring seam; a model-backed combiner can reuse it."""
    cost: ClassVar[Cost] = "cheap"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        """Score ``text``; one ``refusal`` detection when the score reaches the threshold."""
        hits = self.rules.hits(ctx.features_of(text).normalized)
        score = refusal_score(hits)
        if not hits or score < self.threshold:
            return Result(score=score)
        return Result(score=score, detections=(_detection(text, hits, score),))


def _detection(text: str, hits: tuple[RefusalHit, ...], score: float) -> Detection:
    offsets = normalize_with_offsets(text)[1]
    spans = sorted({Span(*offsets.original_span(h.start, h.end)) for h in hits if h.end > h.start},
                   key=lambda s: (s.start, s.end))  # fmt: skip
    partial = all(h.partial for h in hits)
    return Detection("refusal", score, "partial refusal" if partial else "refusal", tuple(spans))
