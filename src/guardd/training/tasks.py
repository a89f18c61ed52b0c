"""What each shipped model learns from: train examples, held-out examples per data set, held-out ids.

Groups keep related records on one side of the split: BIPIA's clean and
injected copies of one context, JailbreakBench's prompts for one behaviour,
XSTest's five completions of one prompt, HaluEval's answers to one question,
SummEdits' edits of one document.
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from guardd.guardrails.hallucination_claims import best_chunks, chunks, claims, content_words
from guardd.training.augment import injection_examples
from guardd.training.data import Example, read_jsonl, split

_WINDOW_CHARS: Final = 360
"""Characters of document kept around an embedded attack: ~100 tokens, fits a 128-token model."""
_DIGIT: Final = re.compile(r"\d")


@dataclass(slots=True)
class TaskData:
    """A model's training set, its held-out sets and the ids behind them."""

    train: list[Example] = field(default_factory=list)
    heldout: dict[str, list[Example]] = field(default_factory=dict)
    heldout_ids: dict[str, list[str]] = field(default_factory=dict)

    def hold(self, name: str, examples: list[Example]) -> None:
        self.heldout[name] = examples
        self.heldout_ids[name] = [e.id for e in examples]


Builder = Callable[[Path, int], TaskData]


def injection(data: Path, seed: int) -> TaskData:
    """Deepset + BIPIA + JailbreakBench, with BIPIA attack windows and synthetic hard cases."""
    out = TaskData()
    train, held = split(read_jsonl(data / "deepset_prompt_injections/dev.jsonl"), "deepset", lambda r: r["id"])
    out.train += [_text(r, "deepset") for r in train]
    out.hold("deepset_prompt_injections", [_text(r, "deepset") for r in held])
    records = read_jsonl(data / "bipia_indirect/dev.jsonl")
    train, held = split(records, "bipia", lambda r: f"{r['meta']['bipia_task']}:{r['meta']['context_index']}")
    out.train += [_text(r, "bipia") for r in train] + _bipia_windows(train)
    out.hold("bipia_indirect", [_text(r, "bipia") for r in held])
    train, held = split(
        read_jsonl(data / "jailbreakbench_artifacts/dev.jsonl"), "jbb", lambda r: str(r["meta"]["behavior_index"])
    )
    out.train += [_text(r, "jbb") for r in train]
    out.hold("jailbreakbench_artifacts", [_text(r, "jbb") for r in held])
    out.train += _xstest_safe_prompts(data, {r["id"] for r in held})
    out.train += injection_examples(seed, 800)
    return out


def _text(record: dict[str, Any], source: str) -> Example:
    return Example(record["text"], int(record["label"] == "injection"), source, id=record["id"])


def _bipia_windows(records: list[dict[str, Any]]) -> list[Example]:
    """The attack with some surrounding document (positive) and the same stretch of the clean one (negative).

    A 128-token model sees only the start of a long document; windows teach it
    what an embedded instruction looks like wherever it sits.
    """
    clean = {
        (r["meta"]["bipia_task"], r["meta"]["context_index"]): r["text"] for r in records if r["label"] != "injection"
    }
    out = []
    for record in records:
        key = (record["meta"]["bipia_task"], record["meta"]["context_index"])
        if record["label"] != "injection" or key not in clean:
            continue
        start, end = _inserted(clean[key], record["text"])
        pad = max(0, (_WINDOW_CHARS - (end - start)) // 2)
        window = record["text"][max(0, start - pad) : end + pad]
        out.append(Example(window, 1, "bipia/window", id=record["id"] + ":window"))
        out.append(
            Example(clean[key][max(0, start - pad) : start + pad], 0, "bipia/window", id=record["id"] + ":clean")
        )
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


def refusal(data: Path, seed: int) -> TaskData:  # noqa: ARG001 - no synthetic refusals yet
    """XSTest completions: refusal (full or partial) vs compliance, from the response text."""
    out = TaskData()
    records = read_jsonl(data / "xstest_refusal/dev.jsonl")
    train, held = split(records, "xstest", lambda r: r["id"].split(":")[1])
    out.train = [_response(r) for r in train]
    out.hold("xstest_refusal", [_response(r) for r in held])
    return out


def _response(record: dict[str, Any]) -> Example:
    return Example(record["response"], int(record["label"] == "refusal"), "xstest", id=record["id"])


def grounding(data: Path, seed: int, chunk_words: int = 64) -> TaskData:
    """(context chunk, claim) pairs from HaluEval QA and SummEdits, shaped the way the guardrail pairs them.

    Held-out examples are whole records (context, answer); ``evaluate`` scores
    them through the guardrail's own claim/chunk/retrieval path.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    out = TaskData()
    qa = read_jsonl(data / "halueval_qa/dev.jsonl")
    train, held = split(qa, "halueval_qa", lambda r: r["question"])
    # Twice: HaluEval's labels are per answer, SummEdits' per-sentence labels are noisier.
    out.train += [p for r in train for p in _qa_pairs(r, chunk_words)] * 2
    out.hold("halueval_qa", [_record(r) for r in held])
    edits = read_jsonl(data / "summedits/dev.jsonl")
    train, held = split(edits, "summedits", lambda r: r["meta"]["domain"] + ":" + _sha(r["context"]))
    out.train += _summedits_pairs(train, chunk_words)
    out.hold("summedits", [_record(r) for r in held])
    out.train += _perturbed(out.train, rng)
    return out


def _record(record: dict[str, Any]) -> Example:
    return Example(record["context"], int(record["label"] == "supported"), record["id"].split(":")[0],
                   pair=record["answer"], id=record["id"])  # fmt: skip


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _qa_pairs(record: dict[str, Any], chunk_words: int) -> list[Example]:
    label = int(record["label"] == "supported")
    return [Example(c, label, "halueval_qa", pair=record["answer"], id=record["id"])
            for c in _best(record["context"], record["answer"], chunk_words, 1)]  # fmt: skip


def _best(context: str, claim: str, chunk_words: int, top_k: int) -> list[str]:
    pieces = chunks([context], chunk_words, 64)
    return [pieces[i] for i in best_chunks(content_words(claim), [content_words(p) for p in pieces], top_k)]


def _summedits_pairs(records: list[dict[str, Any]], chunk_words: int) -> list[Example]:
    """Supported summaries: every sentence supported. Edited ones: the sentences the edit changed, unsupported."""
    seeds: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record["meta"].get("is_seed_summary"):
            seeds[_sha(record["context"])] |= {c.text for c in claims(record["answer"], 3, 32)}
    out = []
    for record in records:
        supported = record["label"] == "supported"
        seed = seeds.get(_sha(record["context"]), set())
        for claim in claims(record["answer"], 3, 32):
            if not supported and claim.text in seed:
                continue  # unchanged from a consistent summary: not the edit
            out += [Example(chunk, int(supported), "summedits", pair=claim.text, id=record["id"])
                    for chunk in _best(record["context"], claim.text, chunk_words, 1)]  # fmt: skip
    return out


def _perturbed(pairs: list[Example], rng: random.Random) -> list[Example]:
    """Unsupported twins of supported claims: a changed number, or a chunk from another record."""
    positives = [p for p in pairs if p.label == 1 and p.pair is not None]
    out = []
    for example in positives:
        claim = example.pair or ""
        if _DIGIT.search(claim):
            changed = _DIGIT.sub(lambda m: str((int(m.group()) + rng.randint(1, 8)) % 10), claim, count=1)
            out.append(Example(example.text, 0, "synthetic/number", pair=changed, id=example.id + ":number"))
        elif rng.random() < 0.3:  # noqa: PLR2004 - a few easy off-topic negatives
            other = rng.choice(positives)
            if other.id != example.id:
                out.append(Example(other.text, 0, "synthetic/offtopic", pair=claim, id=example.id + ":offtopic"))
    return out


BUILDERS: Final[dict[str, Builder]] = {"injection": injection, "refusal": refusal, "grounding": grounding}
