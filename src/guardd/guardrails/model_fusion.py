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

from dataclasses import dataclass
from typing import ClassVar

from guardd.guardrails.base import BuildEnv, CheckContext, Cost, Detection, Guardrail, Result, Span
from guardd.inference.model import Model
from guardd.text.windows import word_windows


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
    cost: ClassVar[Cost] = "model"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        by_rules = await self.rules.check(text, ctx)
        if self.weight is None and by_rules.score >= self.threshold:
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


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A config's ``model``, ``model_label`` and ``model_weight`` fields, read together."""

    model: str | None
    label: str
    weight: float | None
    window_words: int | None = None
    max_windows: int = 16


def with_model(rules: Guardrail, category: str, threshold: float, choice: ModelChoice, env: BuildEnv) -> Guardrail:
    """``rules`` alone, or fused with the classifier ``choice`` names (a build error if it is not loaded)."""
    if choice.model is None:
        return rules
    if env.models is None:
        raise ValueError(f"model '{choice.model}' is not loaded (no models: section)")
    model = env.models.require(choice.model, {"text-classification"})
    label = model.label_index(choice.label)
    return ModelFusedGuardrail(
        rules.name, category, threshold, rules, model, label, choice.weight, choice.window_words, choice.max_windows
    )
