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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from guardd.guardrails.hallucination_claims import (
    best_chunks,
    chunks,
    claims,
    content_words,
    hypothesis,
    question_of,
)
from guardd.text.windows import word_windows
from guardd.training.augment import injection_examples
from guardd.training.data import Example, read_jsonl, split
from guardd.training.evaluate import SERVED

_WINDOW_CHARS: Final = 360
"""Characters of document kept around an embedded attack: ~100 tokens, fits a 128-token model."""
_DIGIT: Final = re.compile(r"\d")
_NAME: Final = re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
"""Capitalised words and runs of them: names, places, titles."""


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
    out.train += [_text(r, "bipia") for r in train] + _bipia_windows(train) + _clean_windows(train)
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


def _clean_windows(records: list[dict[str, Any]]) -> list[Example]:
    """Every window of each clean document, as the guardrail reads it (negative).

    Windows near an attack alone taught the model that code and tables are suspicious: held out, it
    flagged windows of clean StackOverflow answers that no training window had covered.
    """
    served = SERVED["injection"]
    out = []
    for record in records:
        if record["label"] == "injection" or served.window_words is None:
            continue
        spans = word_windows(record["text"], served.window_words, served.max_windows)
        if len(spans) > 1:  # a one-window document is already a training example, whole
            out += [
                Example(record["text"][a:b], 0, "bipia/clean-window", id=f"{record['id']}:window{i}")
                for i, (a, b) in enumerate(spans)
            ]
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
    """(context chunk, claim) pairs shaped the way the guardrail pairs them; HaluEval QA and SummEdits held out.

    HaluEval's hallucinated answers are longer and more sentence-like than its
    right ones: a first model trained on them alone learnt that style (0.94 on
    its held-out split) and scored every real sentence 0.02. So each supported
    claim here gets a twin in the same words with one name or number swapped,
    and each right answer a twin with another question's right answer: only the
    context can tell a pair apart. Held-out examples are whole records (context,
    answer); ``evaluate`` scores them through the guardrail's own path.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    out = TaskData()
    qa = read_jsonl(data / "halueval_qa/dev.jsonl")
    train, held = split(qa, "halueval_qa", lambda r: r["question"])
    out.hold("halueval_qa", [_record(r) for r in held])
    out.hold("halueval_qa_swapped", _swapped_answers(held, rng))
    edits = read_jsonl(data / "summedits/dev.jsonl")
    edits_train, edits_held = split(edits, "summedits", lambda r: r["meta"]["domain"] + ":" + _sha(r["context"]))
    out.hold("summedits", [_record(r) for r in edits_held])
    supported = [p for r in train for p in _qa_pairs(r, chunk_words) if p.label == 1]
    supported += _context_sentences(train, chunk_words, rng)
    # Only SummEdits' seed summaries: every sentence supported. Its edited ones are labelled per summary.
    supported += [
        Example(chunk, 1, "summedits/seed", pair=claim.text, id=r["id"])
        for r in edits_train
        if r["meta"].get("is_seed_summary") and r["label"] == "supported"
        for claim in claims(r["answer"], 3, 32)
        for chunk in _best(r["context"], claim.text, chunk_words, 1)
    ]
    names = sorted({n for r in (*train, *edits_train) for n in _NAME.findall(r["context"])})
    out.train += supported
    out.train += [p for r in train for p in _qa_pairs(r, chunk_words) if p.label == 0]
    out.train += _wrong_answers(train, chunk_words, rng)
    out.train += _twins(supported, names, rng)
    return out


def _swapped_answers(records: list[dict[str, Any]], rng: random.Random) -> list[Example]:
    """Held-out right answers, and the same questions with another's right answer: no style to go by."""
    out = []
    for record, wrong in _wrong_answer_for_each(records, rng):
        out += [_record(record), _record({**record, "answer": wrong, "label": "hallucinated"})]
    return out


def _wrong_answer_for_each(records: list[dict[str, Any]], rng: random.Random) -> list[tuple[dict[str, Any], str]]:
    """Each right-answered record with another record's right answer that its context does not contain."""
    right = [r for r in records if r["label"] == "supported"]
    pairs = []
    for record in right:
        other = rng.choice(right)
        if other is not record and other["answer"].lower() not in record["context"].lower():
            pairs.append((record, other["answer"]))
    return pairs


def _context_sentences(records: list[dict[str, Any]], chunk_words: int, rng: random.Random) -> list[Example]:
    """Up to four sentences of each context as claims it supports: declarative claims, not only answers."""
    out: list[Example] = []
    seen: set[str] = set()
    for record in records:
        if record["context"] in seen:
            continue
        seen.add(record["context"])
        found = [c.text for c in claims(record["context"], 6, 64)]
        for claim in rng.sample(found, min(4, len(found))):
            out += [Example(chunk, 1, "synthetic/sentence", pair=claim, id=record["id"] + ":sentence")
                    for chunk in _best(record["context"], claim, chunk_words, 1)]  # fmt: skip
    return out


def _wrong_answers(records: list[dict[str, Any]], chunk_words: int, rng: random.Random) -> list[Example]:
    """A question with another question's right answer: the same style as a right answer, but unsupported."""
    out: list[Example] = []
    for record, wrong in _wrong_answer_for_each(records, rng):
        said = hypothesis(wrong, question_of(record["question"]))
        out += [Example(chunk, 0, "synthetic/wrong_answer", pair=said, id=record["id"] + ":wrong")
                for chunk in _best(record["context"], said, chunk_words, 1)]  # fmt: skip
    return out


def _twins(positives: list[Example], names: list[str], rng: random.Random) -> list[Example]:
    """Each supported claim with one name (else one digit) swapped, against the same chunk: unsupported."""
    out = []
    for example in positives:
        # Change the answer, never its question: a changed question can make a right answer no less right.
        claim = (example.pair or "").removeprefix(f"{example.question} " if example.question else "")
        changed = _swap_name(claim, example.text, names, rng)
        if changed is None and _DIGIT.search(claim):
            changed = _DIGIT.sub(lambda m: str((int(m.group()) + rng.randint(1, 8)) % 10), claim, count=1)
        if changed is not None and changed != claim:
            said = hypothesis(changed, example.question)
            out.append(Example(example.text, 0, "synthetic/swap", pair=said, id=example.id + ":swap"))
    return out


def _swap_name(claim: str, chunk: str, names: list[str], rng: random.Random) -> str | None:
    # A sentence's first word is capitalised anyway, unless the whole claim is a name ("Delhi").
    found = [m for m in _NAME.finditer(claim) if m.start() > 0 or m.end() >= len(claim.rstrip(" ."))]
    if not found:
        return None
    match = rng.choice(found)
    other = rng.choice(names)
    if other.lower() in chunk.lower():
        return None
    return claim[: match.start()] + other + claim[match.end() :]


def _record(record: dict[str, Any]) -> Example:
    return Example(record["context"], int(record["label"] == "supported"), record["id"].split(":")[0],
                   pair=record["answer"], id=record["id"], question=question_of(record.get("question", "")))  # fmt: skip


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _qa_pairs(record: dict[str, Any], chunk_words: int) -> list[Example]:
    """The answer read after its question, as the guardrail pairs it when the request carries the prompt."""
    label = int(record["label"] == "supported")
    question = question_of(record["question"])
    said = hypothesis(record["answer"], question)
    return [Example(c, label, "halueval_qa", pair=said, id=record["id"], question=question)
            for c in _best(record["context"], said, chunk_words, 1)]  # fmt: skip


def _best(context: str, claim: str, chunk_words: int, top_k: int) -> list[str]:
    pieces = chunks([context], chunk_words, 64)
    return [pieces[i] for i in best_chunks(content_words(claim), [content_words(p) for p in pieces], top_k)]


BUILDERS: Final[dict[str, Builder]] = {"injection": injection, "refusal": refusal, "grounding": grounding}
