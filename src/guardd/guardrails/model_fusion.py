"""A rule guardrail and a text classifier together (injection and refusal use it alike).

The rule score comes from the rule-only guardrail. With ``model_weight`` unset
the score is ``max(rules, model)``, and a rule score already at the threshold
decides alone: the verdict cannot change, so the model is not asked and its
batch slot is left for a request that needs it. With a weight, the score is
``weight x model + (1 - weight) x rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guardd.guardrails.base import BuildEnv, CheckContext, Cost, Detection, Guardrail, Result
from guardd.inference.model import Model


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
    cost: ClassVar[Cost] = "model"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        by_rules = await self.rules.check(text, ctx)
        if self.weight is None and by_rules.score >= self.threshold:
            return by_rules
        (probabilities,) = await self.model.infer([text])
        by_model = float(probabilities[self.label])
        score = self._combine(by_rules.score, by_model)
        if score < self.threshold:
            return Result(score=score)
        detections = by_rules.detections
        if by_model >= self.threshold or not detections:
            message = f"{self.category} classifier '{self.model.name}' scored {by_model:.2f}"
            detections = (*detections, Detection(self.category, by_model, message))
        return Result(score=score, detections=detections)

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


def with_model(rules: Guardrail, category: str, threshold: float, choice: ModelChoice, env: BuildEnv) -> Guardrail:
    """``rules`` alone, or fused with the classifier ``choice`` names (a build error if it is not loaded)."""
    if choice.model is None:
        return rules
    if env.models is None:
        raise ValueError(f"model '{choice.model}' is not loaded (no models: section)")
    model = env.models.require(choice.model, {"text-classification"})
    label = model.label_index(choice.label)
    return ModelFusedGuardrail(rules.name, category, threshold, rules, model, label, choice.weight)
