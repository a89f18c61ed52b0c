"""Labelled JSONL records in the schemas of ``shared/data``, as the request each one stands for.

Three schemas, told apart by their fields:

- ``{"text", "label": "injection" | "benign"}``: an INPUT prompt or document; positive = injection.
- ``{"prompt", "response", "label": "refusal" | "compliance"}``: an OUTPUT completion; positive = refusal.
- ``{"context", "question", "answer", "label": "supported" | "hallucinated"}``: an OUTPUT RAG answer;
  positive = hallucinated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from guardd.errors import GuarddError

Task = Literal["injection", "refusal", "hallucination"]
POSITIVE: Final[dict[Task, str]] = {"injection": "injection", "refusal": "refusal", "hallucination": "hallucinated"}
NEGATIVE: Final[dict[Task, str]] = {"injection": "benign", "refusal": "compliance", "hallucination": "supported"}


class RecordError(GuarddError):
    """A line of the data file is not a record guardd can evaluate; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled request."""

    task: Task
    stage: Literal["input", "output"]
    text: str
    positive: bool
    prompt: str = ""
    context: tuple[str, ...] = ()
    category: str = ""


def read_records(path: Path) -> Iterator[Record]:
    """Every record of ``path``; a malformed line raises ``RecordError`` naming ``path:line``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"{path}:{number}: {_reason(exc)}") from exc


def parse(raw: dict[str, Any]) -> Record:
    """The record ``raw`` stands for; ``ValueError`` says which field is wrong."""
    task = _task_of(raw)
    label = raw["label"]
    if label not in (POSITIVE[task], NEGATIVE[task]):
        raise ValueError(f"label must be '{POSITIVE[task]}' or '{NEGATIVE[task]}' for a {task} record, not {label!r}")
    positive = label == POSITIVE[task]
    category = str(raw.get("category", ""))
    if task == "injection":
        return Record(task, "input", str(raw["text"]), positive, category=category)
    if task == "refusal":
        return Record(
            task, "output", str(raw["response"]), positive, prompt=str(raw.get("prompt", "")), category=category
        )
    context = raw["context"]
    passages = tuple(str(p) for p in context) if isinstance(context, list) else (str(context),)
    question = str(raw.get("question") or "")
    return Record(task, "output", str(raw["answer"]), positive, prompt=question, context=passages, category=category)


def _task_of(raw: dict[str, Any]) -> Task:
    if "response" in raw:
        return "refusal"
    if "answer" in raw and "context" in raw:
        return "hallucination"
    if "text" in raw:
        return "injection"
    raise ValueError("a record needs 'text' (injection), 'response' (refusal) or 'context' + 'answer' (hallucination)")


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg}"
    return str(exc)
