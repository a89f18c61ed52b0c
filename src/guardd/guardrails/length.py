"""Bounds on a text's length in code points and in approximate LLM tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from pydantic import Field, model_validator

from guardd.guardrails.base import (
    CLEAN,
    BuildEnv,
    CheckContext,
    Cost,
    Detection,
    GuardrailConfig,
    Result,
    Span,
)

CATEGORY = "length"
MAX_BOUND = 100_000_000


class LengthConfig(GuardrailConfig):
    """Policy entry for ``type: length``: at least one of the bounds is required.

    ``max_tokens`` uses the shared tokenizer-free estimate, so it is within
    about 20% of a real BPE count; use it as a cost guard, not an exact limit.
    """

    type: Literal["length"]
    max_chars: int | None = Field(default=None, ge=1, le=MAX_BOUND)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_BOUND)
    min_chars: int | None = Field(default=None, ge=1, le=MAX_BOUND)

    @model_validator(mode="after")
    def _bounds_make_sense(self) -> Self:
        if self.max_chars is None and self.max_tokens is None and self.min_chars is None:
            raise ValueError("set at least one of max_chars, max_tokens or min_chars")
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars})")
        return self

    def build(self, env: BuildEnv) -> LengthGuardrail:  # noqa: ARG002 - nothing to load
        """Make the guardrail; bounds are plain numbers, so there is nothing to compile."""
        return LengthGuardrail(self.name, self.max_chars, self.max_tokens, self.min_chars)


@dataclass(frozen=True, slots=True)
class LengthGuardrail:
    """Flags a text longer or shorter than its configured bounds.

    The score is the share of the text beyond ``max_*`` (or of ``min_chars``
    missing), so it lies in (0, 1] and grows with how far off the text is.
    """

    name: str
    max_chars: int | None
    max_tokens: int | None
    min_chars: int | None
    cost: Cost = "cheap"

    async def check(self, text: str, ctx: CheckContext) -> Result:
        """Judge ``text``; the minimum waits for the final text of a stream."""
        detections = tuple(
            found
            for found in (
                self._over_chars(text),
                self._over_tokens(text, ctx),
                self._under_chars(text) if ctx.final else None,
            )
            if found is not None
        )
        if not detections:
            return CLEAN
        return Result(score=max(found.score for found in detections), detections=detections)

    def _over_chars(self, text: str) -> Detection | None:
        size = len(text)
        if self.max_chars is None or size <= self.max_chars:
            return None
        message = f"text is {size} characters, over the limit of {self.max_chars}"
        return Detection(CATEGORY, _share_over(size, self.max_chars), message, (Span(self.max_chars, size),))

    def _over_tokens(self, text: str, ctx: CheckContext) -> Detection | None:
        # Every estimated token is at least one character: a short text needs no count.
        if self.max_tokens is None or len(text) <= self.max_tokens:
            return None
        tokens = ctx.features_of(text).approx_tokens
        if tokens <= self.max_tokens:
            return None
        message = f"text is about {tokens} tokens, over the limit of {self.max_tokens}"
        return Detection(CATEGORY, _share_over(tokens, self.max_tokens), message)

    def _under_chars(self, text: str) -> Detection | None:
        size = len(text)
        if self.min_chars is None or size >= self.min_chars:
            return None
        message = f"text is {size} characters, under the minimum of {self.min_chars}"
        return Detection(CATEGORY, (self.min_chars - size) / self.min_chars, message)


def _share_over(size: int, limit: int) -> float:
    return (size - limit) / size
