"""Where each ``models:`` entry was written, and checks of its names, for the policy loader."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from guardd.errors import Diagnostic
from guardd.inference.config import MODEL_NAME, ModelConfig
from guardd.policy.source import SourceDocument

Position = tuple[str, int, int]


def model_locations(doc: SourceDocument, models: Mapping[str, ModelConfig]) -> dict[tuple[str, str], Position]:
    """(model, field) → position, for every field a load error may point at; "" is the entry."""
    fields = ("", *ModelConfig.model_fields)
    return {
        (name, key): doc.locate(("models", name, key) if key else ("models", name)) for name in models for key in fields
    }


def model_name_problems(doc: SourceDocument, names: Iterable[str]) -> list[Diagnostic]:
    """Model names end up in metric labels and guardrail references: keep them simple."""
    pattern = re.compile(MODEL_NAME)
    return [
        doc.diagnostic(("models", name), f"models.{name}: model name must match {MODEL_NAME}")
        for name in names
        if not pattern.match(name)
    ]
