"""What each shipped model learns from: train examples, held-out examples per data set, held-out ids.

Groups keep related records on one side of the split: BIPIA's clean and
injected copies of one context, JailbreakBench's prompts for one behaviour,
XSTest's five completions of one prompt, HaluEval's answers to one question,
SummEdits' edits of one document.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from guardd.training.augment import injection_examples
from guardd.training.data import Example, TaskData, is_heldout, read_jsonl, split
from guardd.training.evaluate import SERVED
from guardd.training.grounding_data import grounding
from guardd.training.injection_data import capped, fold_of, train_sources, windows

Builder = Callable[[Path, int], TaskData]


def injection(data: Path, seed: int) -> TaskData:
    """Every ``inj_train_*`` set, the dev sets' training halves and synthetic hard cases, as served windows.

    ``sources`` keeps the whole records of each source for leave-one-source-out scoring; the dev sets'
    held-out halves are the in-source table.
    """
    out = TaskData()
    records = train_sources(data)
    train, held = split(read_jsonl(data / "deepset_prompt_injections/dev.jsonl"), "deepset", lambda r: r["id"])
    records["deepset"] = [(_text(r, "deepset"), None) for r in train]
    out.hold("deepset_prompt_injections", [_text(r, "deepset") for r in held])
    bipia = read_jsonl(data / "bipia_indirect/dev.jsonl")
    train, held = split(bipia, "bipia", lambda r: f"{r['meta']['bipia_task']}:{r['meta']['context_index']}")
    records["bipia"] = _bipia_planted(train)
    out.hold("bipia_indirect", [_text(r, "bipia") for r in held])
    jbb = read_jsonl(data / "jailbreakbench_artifacts/dev.jsonl")
    train, held = split(jbb, "jbb", lambda r: str(r["meta"]["behavior_index"]))
    records["jailbreakbench"] = [(_text(r, "jailbreakbench"), None) for r in train]
    out.hold("jailbreakbench_artifacts", [_text(r, "jailbreakbench") for r in held])
    served = SERVED["injection"]
    words = served.window_words or 96
    for source, found in records.items():
        out.folds[source] = fold_of(source)
        out.sources[source] = [example for example, _ in found]
        out.train += windows(found, words, served.max_windows)
    out.train = capped(out.train, seed)
    out.train += _xstest_safe_prompts(data, {r["id"] for r in read_jsonl(data / "xstest_refusal/dev.jsonl")
                                               if is_heldout("xstest", r["id"].split(":")[1])})  # fmt: skip
    out.train += [Example(e.text, e.label, "synthetic", id=e.id) for e in injection_examples(seed, 800)]
    return out


def _text(record: dict[str, Any], source: str) -> Example:
    return Example(record["text"], int(record["label"] == "injection"), source, id=record["id"])


def _bipia_planted(records: list[dict[str, Any]]) -> list[tuple[Example, tuple[int, int] | None]]:
    """BIPIA's training records, each attacked one with the span where it differs from its clean twin."""
    clean = {
        (r["meta"]["bipia_task"], r["meta"]["context_index"]): r["text"] for r in records if r["label"] != "injection"
    }
    out: list[tuple[Example, tuple[int, int] | None]] = []
    for record in records:
        key = (record["meta"]["bipia_task"], record["meta"]["context_index"])
        planted = _inserted(clean[key], record["text"]) if record["label"] == "injection" and key in clean else None
        out.append((_text(record, "bipia"), planted))
    return out


def _inserted(clean: str, injected: str) -> tuple[int, int]:
    """Where ``injected`` differs from ``clean``: the inserted attack's character range."""
    matcher = difflib.SequenceMatcher(None, clean, injected, autojunk=False)
    inserts = [(j1, j2) for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    return (inserts[0][0], inserts[-1][1]) if inserts else (0, len(injected))


def _xstest_safe_prompts(data: Path, exclude: set[str]) -> list[Example]:
    """XSTest's safe prompts ("how do I kill a Python process") as benign prompts that must pass."""
    seen: set[str] = set()
    out = []
    for record in read_jsonl(data / "xstest_refusal/dev.jsonl"):
        if record["meta"]["prompt_safety"] == "safe" and record["prompt"] not in seen and record["id"] not in exclude:
            seen.add(record["prompt"])
            out.append(Example(record["prompt"], 0, "xstest_prompts", id=record["id"] + ":prompt"))
    return out


REFUSAL_FOLDS: Final = {"alpacaeval": 0, "chatgptrefusals": 0, "arenahard": 1, "coconot": 1, "xstest": 2}
"""Each fold holds out one set of answers from other models: compliance-only sets paired with mixed ones."""


def refusal(data: Path, seed: int) -> TaskData:  # noqa: ARG001 - no synthetic refusals yet
    """Responses of many LLMs (``refusal_train_*``) and XSTest's training half: refusal vs compliance."""
    out = TaskData(folds=dict(REFUSAL_FOLDS))
    for folder in sorted(data.glob("refusal_train_*")):
        source = folder.name.removeprefix("refusal_train_")
        if source not in REFUSAL_FOLDS:
            raise KeyError(f"source '{source}' has no fold in guardd.training.tasks.REFUSAL_FOLDS")
        out.sources[source] = [_response(r, source) for r in read_jsonl(folder / "train.jsonl")]
    records = read_jsonl(data / "xstest_refusal/dev.jsonl")
    train, held = split(records, "xstest", lambda r: r["id"].split(":")[1])
    out.sources["xstest"] = [_response(r, "xstest") for r in train]
    out.hold("xstest_refusal", [_response(r, "xstest") for r in held])
    out.train = [e for examples in out.sources.values() for e in examples]
    return out


def _response(record: dict[str, Any], source: str) -> Example:
    return Example(record["response"], int(record["label"] == "refusal"), source, id=record["id"])


BUILDERS: Final[dict[str, Builder]] = {"injection": injection, "refusal": refusal, "grounding": grounding}
