"""Hallucination guardrail: checks that each sentence of an answer is supported by the request's context.

Each answer sentence is a claim. Each claim is paired with its ``top_k``
premises: the context sentences sharing most of its words (cheap, no model),
each read with its neighbours up to ``premise_words``. Only those pairs go to
the model, in one batched call:

- ``nli``: a pair-classification model (an NLI or HHEM-style cross-encoder)
  scores each (premise, claim) pair; the claim's support is its best pair's
  probability of ``supported_label``.
- ``grounding``: an embedding model embeds claims and premises; the claim's
  support is its best cosine similarity. Weaker, but works with
  all-MiniLM-L6-v2, which exists offline today.

With a prompt in the request, each claim is read after the prompt's last
words (its question): "Delhi" is only true or false as the answer to
something.

A claim is supported when its support reaches ``threshold``. The answer's
score is ``1 - support`` of its least-supported claim. Independently of any
model, numbers in the answer that appear in no passage are reported. With no
context there is nothing to judge against: the answer is allowed
(``without_context: allow``; most completions are not RAG answers), or the
guardrail fails with a message saying so (``error``: its ``on_error`` applies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from guardd.errors import GuardrailFailure
from guardd.guardrails.base import CLEAN, BuildEnv, CheckContext, Cost, Detection, GuardrailConfig, Result, Stage
from guardd.guardrails.hallucination_claims import (
    QUESTION_WORDS,
    Claim,
    Premises,
    claims,
    content_words,
    hypothesis,
    question_of,
)
from guardd.guardrails.hallucination_numbers import unsupported_numbers
from guardd.inference.model import Model

Mode = Literal["auto", "nli", "grounding"]
WithoutContext = Literal["allow", "error"]
_NLI_PREMISE_SHARE: Final = 0.5
"""Premise words per model token for NLI: ~0.65 of the tokens, leaving the rest for the claim."""
_GROUNDING_PREMISE_SHARE: Final = 0.7
NO_CONTEXT: Final = "cannot judge grounding: the request has no context passages"


class Combine(BaseModel):
    """A claim's support as ``sigmoid(model x logit(p) + overlap x word_overlap + bias)``.

    ``p`` is the model's P(supported) of the claim's best pair; ``word_overlap`` is the share of the claim's
    content words that appear anywhere in the context. The shipped weights were fit on leave-one-source-out
    scores (models/grounding/MODEL_CARD.md); ``guardd eval`` re-checks them on your own traffic.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: float = Field(default=1.0, ge=0.0, le=20.0)
    overlap: float = Field(default=0.0, ge=-20.0, le=20.0)
    bias: float = Field(default=0.0, ge=-20.0, le=20.0)

    def support(self, probability: float, overlap: float) -> float:
        p = min(max(probability, 1e-6), 1 - 1e-6)
        z = self.model * math.log(p / (1 - p)) + self.overlap * overlap + self.bias
        return 1.0 / (1.0 + math.exp(-z))


class HallucinationConfig(GuardrailConfig):
    """Policy entry for the hallucination guardrail (OUTPUT stage only)."""

    stages: ClassVar[frozenset[Stage]] = frozenset({"output"})

    type: Literal["hallucination"]
    model: str | None = None
    """A name under ``models:``; left out, only the number check runs."""
    mode: Mode = "auto"
    """auto: ``nli`` for a pair-classification model, ``grounding`` for an embedding model."""
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """The support a claim needs to count as supported."""
    supported_label: str = "supported"
    """The pair classifier's label meaning "the premise supports the claim" (``entailment`` for NLI)."""
    top_k: int = Field(default=2, ge=1, le=16)
    min_claim_words: int = Field(default=3, ge=1, le=50)
    max_claims: int = Field(default=32, ge=1, le=256)
    max_sentences: int = Field(default=256, ge=1, le=4096)
    """Context sentences considered (the first ones): bounds the lexical matching on huge contexts."""
    premise_words: int | None = Field(default=None, ge=8, le=4096)
    """Words of context read with each claim; left out, sized from the model's ``max_length``."""
    numbers: bool = True
    """Report numbers, years and amounts in the answer that no passage contains."""
    without_context: WithoutContext = "allow"
    """A request with no context passages: ``allow`` (most completions are not RAG answers: nothing to judge),
    or ``error`` (every call should carry context; its absence is a caller's bug, and ``on_error`` decides)."""
    combine: Combine | None = None
    """Mix the model with word overlap per claim; left out, a claim's support is the model's probability."""
    question_words: int = Field(default=QUESTION_WORDS, ge=0, le=256)
    """Words from the end of the request's prompt read before each claim ("Delhi" means nothing alone); 0: none."""

    @property
    def categories(self) -> tuple[str, ...]:
        return ("hallucination", "unsupported_number")

    def build(self, env: BuildEnv) -> HallucinationGuardrail:
        """Resolve the model and its label once; ``ValueError`` says what does not fit."""
        if self.model is None:
            if not self.numbers:
                raise ValueError("nothing to check: set model: or numbers: true")
            return HallucinationGuardrail(self.name, self, None, cost="cheap")
        if env.models is None:
            raise ValueError(f"model '{self.model}' is not loaded (no models: section)")
        model = env.models.require(self.model, {"pair-classification", "embedding"})
        mode = self.mode if self.mode != "auto" else ("nli" if model.task == "pair-classification" else "grounding")
        needed = "pair-classification" if mode == "nli" else "embedding"
        if model.task != needed:
            raise ValueError(f"mode {mode} needs a {needed} model; '{self.model}' is {model.task}")
        return HallucinationGuardrail(self.name, self, self._scorer(mode, model))

    def _scorer(self, mode: Mode, model: Model) -> Scorer:
        share = _NLI_PREMISE_SHARE if mode == "nli" else _GROUNDING_PREMISE_SHARE
        words = self.premise_words or max(8, int(model.config.max_length * share))
        if mode == "nli":
            return NliScorer(model, model.label_index(self.supported_label), self.top_k, words, self.combine)
        return GroundingScorer(model, self.top_k, words)


class Scorer(Protocol):
    """Support in [0, 1] per claim, from premises of at most ``premise_words`` words."""

    @property
    def premise_words(self) -> int: ...

    async def support(self, claims: Sequence[Claim], context: Premises, question: str) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class NliScorer:
    """Verifies each claim against its best few premises with a pair classifier, in one batch."""

    model: Model
    label: int
    top_k: int
    premise_words: int
    combine: Combine | None = None

    async def support(self, claims: Sequence[Claim], context: Premises, question: str) -> list[float]:
        pairs = context.pairs(claims, question, self.top_k)
        probabilities = await self.model.infer(pairs.items)
        best = pairs.support(float(row[self.label]) for row in probabilities)
        if self.combine is None:
            return best
        return [self.combine.support(p, context.overlap(c.text)) for c, p in zip(claims, best, strict=True)]


@dataclass(frozen=True, slots=True)
class GroundingScorer:
    """Embeds claims and their candidate premises in one batch; support is the best cosine similarity."""

    model: Model
    top_k: int
    premise_words: int

    async def support(self, claims: Sequence[Claim], context: Premises, question: str) -> list[float]:
        said = [hypothesis(c.text, question) for c in claims]
        wanted = sorted({p for s in said for p in context.best(content_words(s), self.top_k)})
        vectors = await self.model.infer(said + wanted)
        claim_vectors = np.stack(vectors[: len(claims)])
        premise_vectors = np.stack(vectors[len(claims) :])
        best = (claim_vectors @ premise_vectors.T).max(axis=1)
        return [float(min(1.0, max(0.0, s))) for s in best]


@dataclass(frozen=True, slots=True)
class HallucinationGuardrail:
    """Reports answer sentences the context does not support, and numbers it never states."""

    name: str
    config: HallucinationConfig
    scorer: Scorer | None
    cost: Cost = "model"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        passages = [p for p in ctx.context if p.strip()]
        if not passages:
            if self.config.without_context == "error":
                raise GuardrailFailure(NO_CONTEXT)
            return CLEAN
        detections, score = await self._claims(text, passages, question_of(ctx.prompt, self.config.question_words))
        if self.config.numbers:
            numbers = [
                Detection("unsupported_number", 1.0, f"'{m.written}' appears in no context passage", (m.span,))
                for m in unsupported_numbers(text, passages)
            ]
            detections += numbers
            score = max(score, 1.0 if numbers else 0.0)
        return Result(score=score, detections=tuple(detections))

    async def _claims(self, text: str, passages: Sequence[str], question: str) -> tuple[list[Detection], float]:
        if self.scorer is None:
            return [], 0.0
        config = self.config
        found = claims(text, config.min_claim_words, config.max_claims, question=question)
        context = Premises.of(passages, self.scorer.premise_words, config.max_sentences)
        if not found or not context:
            return [], 0.0
        support = await self.scorer.support(found, context, question)
        detections = [
            Detection(
                "hallucination",
                round(1.0 - s, 6),
                f"sentence not supported by the context (support {s:.2f} < {config.threshold:.2f})",
                (claim.span,),
            )
            for claim, s in zip(found, support, strict=True)
            if s < config.threshold
        ]
        return detections, round(1.0 - min(support), 6)
