"""The one protocol every guardrail implements, and the types it speaks.

A guardrail is a small class with a ``name``, a ``cost`` class that tells the
pipeline how to run it, and ``async check(text, ctx) -> Result``. A detection
is a returned ``Result``; a failure (timeout, model error) is raised as
``GuardrailFailure`` and the pipeline applies the guardrail's ``on_error``.

Each guardrail module also defines a ``GuardrailConfig`` subclass: the typed,
frozen form of its policy YAML entry, with a ``build`` method that makes the
guardrail once per policy load, never per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guardd.text.features import FeatureCache, TextFeatures
from guardd.text.offsets import Edit

if TYPE_CHECKING:
    from guardd.inference.model import ModelSet
    from guardd.workers.pool import WorkerPool

Stage = Literal["input", "output"]
Cost = Literal["cheap", "cpu", "model"]
"""cheap: microseconds, runs inline on the event loop; cpu: GIL-bound work that
belongs in a process pool; model: ONNX inference behind the micro-batcher."""

OnFail = Literal["block", "modify", "flag"]
OnError = Literal["fail_open", "fail_closed"]

BOTH_STAGES: frozenset[Stage] = frozenset({"input", "output"})


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open ``[start, end)`` range of code points in the checked text."""

    start: int
    end: int


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted spans with overlaps merged: two rules matching one phrase is one place to look."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start < merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class Detection:
    """One thing a guardrail found."""

    category: str
    score: float
    message: str
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    """What a guardrail concluded about one text.

    ``score`` is reported even when nothing was detected. ``new_text`` is set
    only when the guardrail fixed what it found (a redaction, a JSON repair);
    the pipeline then answers MODIFY and hands the new text to the next
    guardrail. Spans always index the text the guardrail was given.
    """

    score: float = 0.0
    detections: tuple[Detection, ...] = ()
    new_text: str | None = None
    edits: tuple[Edit, ...] | None = None
    """How ``new_text`` was made from the text, if it was made by replacements;
    lets the pipeline map later guardrails' spans back to the original text."""

    @property
    def triggered(self) -> bool:
        return bool(self.detections)


CLEAN = Result()


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything about the request a guardrail may read besides the text."""

    stage: Stage
    prompt: str = ""
    context: tuple[str, ...] = ()
    upstream: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    final: bool = True
    """False while ValidateStream judges a completion that is still arriving;
    guardrails that need the whole text (e.g. schema) wait for the final run."""
    features: FeatureCache = field(default_factory=FeatureCache)

    def features_of(self, text: str) -> TextFeatures:
        """Shared per-request features (normalised text, token estimate) of ``text``."""
        return self.features.of(text)


class Guardrail(Protocol):
    """A check on one text. Built once per policy load; must be safe to share."""

    @property
    def name(self) -> str: ...

    @property
    def cost(self) -> Cost: ...

    async def check(self, text: str, ctx: CheckContext) -> Result: ...


@dataclass(frozen=True, slots=True)
class BuildEnv:
    """What a guardrail may use while it is built: never the request path."""

    base_dir: Path = Path()
    """Directory that relative paths in the policy are resolved against."""
    workers: WorkerPool | None = None
    """The App's process pool for GIL-bound work, shared across reloads; None runs such work in-process."""
    models: ModelSet | None = None
    """The policy's ``models:``, loaded and warmed by the App's model registry; None when none were loaded."""


GUARDRAIL_NAME = r"^[a-z][a-z0-9_-]{0,62}$"


class GuardrailConfig(BaseModel):
    """Fields every guardrail entry in policy YAML shares.

    Subclasses add their own fields, narrow ``type`` to a ``Literal`` and
    implement ``build``. Unknown keys are rejected so typos surface in
    ``guardd check`` instead of silently doing nothing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    stages: ClassVar[frozenset[Stage]] = BOTH_STAGES
    can_modify: ClassVar[bool] = False

    name: str = Field(pattern=GUARDRAIL_NAME)
    type: str
    enabled: bool = True
    on_fail: OnFail = "block"
    on_error: OnError = "fail_open"
    timeout_ms: int = Field(default=1000, ge=1, le=60_000)

    @model_validator(mode="after")
    def _modify_needs_support(self) -> GuardrailConfig:
        if self.on_fail == "modify" and not self.can_modify:
            msg = f"guardrail type '{self.type}' cannot modify text; use on_fail: block or flag"
            raise ValueError(msg)
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        """Finding categories this guardrail can report (metric label sets are created from them)."""
        return (self.type,)

    @property
    def may_modify(self) -> bool:
        """Whether this guardrail can hand back a new text (the pipeline chains those first)."""
        return self.on_fail == "modify"

    def build(self, env: BuildEnv) -> Guardrail:
        """Make the guardrail this entry describes."""
        raise NotImplementedError
