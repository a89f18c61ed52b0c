"""A rule guardrail and a text classifier together (injection and refusal use it alike).

The rule score comes from the rule-only guardrail. With ``model_weight`` unset
the score is ``max(rules, model)``, and a rule score already at the threshold
decides alone: the verdict cannot change, so the model is not asked and its
batch slot is left for a request that needs it. With a weight, the score is
``weight x model + (1 - weight) x rules``.

With ``window_words``, a text longer than that is scored in half-overlapping
windows (one batch) and its best window counts, with that window as the
finding's span: the model reads every part of a long document at the length
it was trained on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import ClassVar

from pydantic import Field

from guardd.guardrails.base import BuildEnv, CheckContext, Cost, Detection, Guardrail, GuardrailConfig, Result, Span
from guardd.inference.model import Model
from guardd.text.windows import word_windows

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class ModelFusedGuardrail:
    """The rule guardrail's detections, plus a classifier's, with the two scores fused."""

    name: str
    category: str
    threshold: float
    rules: Guardrail
    """The rule-only guardrail, at the same threshold."""
    model: Model
    label: int
    weight: float | None
    """None: max(rules, model); else the model's share of a weighted mean."""
    window_words: int | None = None
    max_windows: int = 16
    min_words: int = 0
    cost: ClassVar[Cost] = "model"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        by_rules = await self.rules.check(text, ctx)
        if self.weight is None and by_rules.score >= self.threshold:
            return by_rules
        if _fewer_words_than(text, max(1, self.min_words)):
            # Nothing (or next to nothing) to read: asked about "[CLS] [SEP]" or "ok", a classifier answers
            # with its prior, and the injection model's prior is above its threshold.
            return by_rules
        by_model, where = await self._model_score(text)
        score = self._combine(by_rules.score, by_model)
        if score < self.threshold:
            return Result(score=score)
        detections = by_rules.detections
        if by_model >= self.threshold or not detections:
            message = f"{self.category} classifier '{self.model.name}' scored {by_model:.2f}"
            detections = (*detections, Detection(self.category, by_model, message, where))
        return Result(score=score, detections=detections)

    async def _model_score(self, text: str) -> tuple[float, tuple[Span, ...]]:
        """The best window's probability, and that window when the text was cut into several."""
        if self.window_words is None:
            (probabilities,) = await self.model.infer([text])
            return float(probabilities[self.label]), ()
        windows = word_windows(text, self.window_words, self.max_windows)
        rows = await self.model.infer([text[start:end] for start, end in windows])
        scores = [float(row[self.label]) for row in rows]
        best = max(range(len(scores)), key=scores.__getitem__)
        return scores[best], ((Span(*windows[best]),) if len(windows) > 1 else ())

    def _combine(self, rules: float, model: float) -> float:
        if self.weight is None:
            return round(max(rules, model), 6)
        return round(self.weight * model + (1.0 - self.weight) * rules, 6)


class FusableConfig(GuardrailConfig):
    """A rule guardrail's policy fields for adding a text classifier (injection and refusal alike)."""

    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    model: str | None = None
    """A text-classification model under ``models:`` whose score combines with the rule score."""
    model_label: str | None = None
    """The classifier's label for the guardrail's category; left out, the category's own name."""
    model_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    """Left out: the score is max(rules, model). Set: weight * model + (1 - weight) * rules."""
    model_window_words: int | None = Field(default=None, ge=8, le=4096)
    """A longer text is scored in half-overlapping windows of this many words, the best one counting
    (~96 words fit a 128-token model). None: the whole text, cut at the model's ``max_length``."""
    model_max_windows: int = Field(default=16, ge=1, le=256)
    model_min_words: int = Field(default=3, ge=0, le=64)
    """Texts with fewer words are judged by the rules alone: the classifier has almost nothing to read and
    answers near its prior (the shipped injection model gave "ok" 0.90 and "hi" 0.89). 0: always ask it."""
    """Past this many windows, the first and last halves are scored: a bounded cost per request."""

    def fuse(self, rules: Guardrail, category: str, env: BuildEnv) -> Guardrail:
        """``rules`` alone, or fused with the classifier ``model`` names (a build error if it is not loaded)."""
        if self.model is None:
            return rules
        if env.models is None:
            raise ValueError(f"model '{self.model}' is not loaded (no models: section)")
        model = env.models.require(self.model, {"text-classification"})
        label = model.label_index(self.model_label or category)
        return ModelFusedGuardrail(
            rules.name,
            category,
            self.threshold,
            rules,
            model,
            label,
            self.model_weight,
            self.model_window_words,
            self.model_max_windows,
            self.model_min_words,
        )


def _fewer_words_than(text: str, count: int) -> bool:
    """Stops at ``count`` words: a 1 MiB document is not split whole on every request to learn it is long."""
    return sum(1 for _ in islice(_WORD.finditer(text), count)) < count
