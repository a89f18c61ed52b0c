"""Labelled examples from ``shared/data`` and the fixed held-out split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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
