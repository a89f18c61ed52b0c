"""Labelled examples from ``shared/data`` and the fixed held-out split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

HELDOUT_SHARE: Final = 0.25
"""Part of each dev set kept out of training, by a hash of the group key (never tuned on)."""
_SALT: Final = "guardd-train-v1"


@dataclass(frozen=True, slots=True)
class Example:
    """One training or evaluation item: a text (or a premise/hypothesis pair) and a 0/1 label."""

    text: str
    label: int
    source: str
    """The data set (or ``synthetic/...``) it came from; metrics are reported per source."""
    pair: str | None = None
    """The second text of a pair (the claim); ``text`` is then the premise (context chunk)."""
    id: str = ""
    question: str = ""
    """For a grounding record: the question the answer (``pair``) answers."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSON-lines file."""
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def is_heldout(dataset: str, group: str, share: float = HELDOUT_SHARE) -> bool:
    """Whether ``group`` of ``dataset`` is held out: a stable hash, independent of order and run."""
    digest = hashlib.sha256(f"{_SALT}|{dataset}|{group}".encode()).hexdigest()
    return int(digest[:16], 16) / 16**16 < share


def split(
    records: Iterable[dict[str, Any]], dataset: str, group: Callable[[dict[str, Any]], str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, held-out) records; all records of one group land on the same side."""
    train: list[dict[str, Any]] = []
    heldout: list[dict[str, Any]] = []
    for record in records:
        (heldout if is_heldout(dataset, group(record)) else train).append(record)
    return train, heldout


def write_split_ids(path: Path, heldout: Mapping[str, Sequence[str]]) -> None:
    """Record which ids were held out (ids only, never text), so the split can be audited."""
    payload = {"salt": _SALT, "share": HELDOUT_SHARE, "heldout_ids": {k: sorted(v) for k, v in heldout.items()}}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


@dataclass(slots=True)
class TaskData:
    """A model's training set, its held-out sets and the ids behind them."""

    train: list[Example] = field(default_factory=list)
    heldout: dict[str, list[Example]] = field(default_factory=dict)
    sources: dict[str, list[Example]] = field(default_factory=dict)
    """Whole training records by source: what a fold model that never saw the source is scored on."""
    folds: dict[str, int] = field(default_factory=dict)
    """Source -> the fold that holds it out; training sources not named here are in every fold's training,
    and so are generated examples (``synthetic``) that derive from no source."""
    heldout_ids: dict[str, list[str]] = field(default_factory=dict)

    def without_fold(self, fold: int) -> TaskData:
        """The training set of the model that never sees ``fold``'s sources; they become its held-out sets."""
        out = TaskData(train=[e for e in self.train if self.fold_of(e.source) != fold])
        for source, examples in self.sources.items():
            if self.fold_of(source) == fold:
                out.hold(source, examples)
        return out

    def fold_of(self, source: str) -> int | None:
        """The fold of ``source``, or of the source an example was derived from (``fm2:swap``); None: always."""
        return self.folds.get(source.split(":", 1)[0])

    def hold(self, name: str, examples: list[Example]) -> None:
        self.heldout[name] = examples
        self.heldout_ids[name] = [e.id for e in examples]
