"""The grounding model's data: (premise, claim) pairs cut the way the hallucination guardrail cuts them.

Sources: every ``ground_train_*`` set (NLI, fact verification, task dialogue,
news summaries) and the training halves of HaluEval QA and SummEdits. Each
record's answer is split into claims and each claim paired with its best
premise exactly as served (``Premises``, top 1, 64 words, the question read
first). A supported answer makes every claim a positive; a hallucinated answer
makes a negative only when it is a single claim, since nobody says which
sentence of a longer one is wrong. Whole records stay in ``sources`` for
leave-one-source-out scoring, which judges answers, not pairs.

Generated: each supported claim again with one name (else one digit) swapped
for another record's, against the same premise (unsupported), so wording alone
cannot tell the classes apart.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from guardd.guardrails.hallucination_claims import Premises, claims, question_of
from guardd.training.data import Example, TaskData, read_jsonl, split
from guardd.training.evaluate import SERVED
from guardd.training.injection_data import capped

FOLDS: Final = {
    "mnli": 0,
    "fm2": 1, "fm2_synth": 1,
    "citod": 2, "halueval_qa": 2,
    "frank": 3, "xsumfaith": 3, "summedits": 3,
}  # fmt: skip
"""Source -> fold: NLI; Wikipedia claims; answers to a question (dialogue, QA); summaries."""
PAIR_CAP: Final = 1200
TWIN_CAP: Final = 400
_DIGIT: Final = re.compile(r"\d")
_NAME: Final = re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
"""Capitalised words and runs of them: names, places, titles."""


def grounding(data: Path, seed: int) -> TaskData:
    """Pairs from every source as served, twins, and the dev sets' held-out halves as whole records."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    out = TaskData(folds=dict(FOLDS))
    for folder in sorted(data.glob("ground_train_*")):
        source = folder.name.removeprefix("ground_train_")
        if source not in FOLDS:
            raise KeyError(f"source '{source}' has no fold in guardd.training.grounding_data.FOLDS")
        out.sources[source] = [record_example(r, source) for r in read_jsonl(folder / "train.jsonl")]
    train, held = split(read_jsonl(data / "halueval_qa/dev.jsonl"), "halueval_qa", lambda r: r["question"])
    out.sources["halueval_qa"] = [record_example(r, "halueval_qa") for r in train]
    out.hold("halueval_qa", [record_example(r, "halueval_qa") for r in held])
    edits = read_jsonl(data / "summedits/dev.jsonl")
    train, held = split(edits, "summedits", lambda r: r["meta"]["domain"] + ":" + _sha(r["context"]))
    out.sources["summedits"] = [record_example(r, "summedits") for r in train]
    out.hold("summedits", [record_example(r, "summedits") for r in held])
    pairs = capped([p for examples in out.sources.values() for e in examples for p in served_pairs(e)], seed, PAIR_CAP)
    names = sorted({n for examples in out.sources.values() for e in examples for n in _NAME.findall(e.text)})
    out.train = pairs + capped(twins([p for p in pairs if p.label == 1], names, rng), seed, TWIN_CAP)
    return out


def record_example(record: dict[str, Any], source: str) -> Example:
    """A whole record: context as text, answer as pair, label 1 when supported."""
    return Example(record["context"], int(record["label"] == "supported"), source, pair=record["answer"],
                   id=record["id"], question=question_of(record.get("question") or ""))  # fmt: skip


def served_pairs(record: Example) -> list[Example]:
    """The record's (premise, claim) pairs as the guardrail builds them; see the module docstring for labels."""
    served = SERVED["grounding"]
    found = claims(record.pair or "", served.min_claim_words, 32, question=record.question)
    premises = Premises.of([record.text], served.premise_words, 256)
    if not found or not premises or (record.label == 0 and len(found) > 1):
        return []
    pairs = premises.pairs(found, record.question, served.top_k)
    return [Example(premise, record.label, record.source, pair=said, id=f"{record.id}:{i}", question=record.question)
            for i, (premise, said) in enumerate(pairs.items)]  # fmt: skip


def twins(positives: Sequence[Example], names: Sequence[str], rng: random.Random) -> list[Example]:
    """Each supported claim with one name (else one digit) swapped, against the same premise: unsupported."""
    out = []
    for example in positives:
        # Change the answer, never its question: a changed question can make a right answer no less right.
        claim = (example.pair or "").removeprefix(f"{example.question} " if example.question else "")
        changed = _swap_name(claim, example.text, names, rng)
        if changed is None and _DIGIT.search(claim):
            changed = _DIGIT.sub(lambda m: str((int(m.group()) + rng.randint(1, 8)) % 10), claim, count=1)
        if changed is not None and changed != claim:
            said = f"{example.question} {changed}" if example.question else changed
            # Derived from its source's claim, so held out with it (``TaskData.fold_of``).
            out.append(Example(example.text, 0, f"{example.source}:swap", pair=said, id=example.id + ":swap"))
    return out


def _swap_name(claim: str, premise: str, names: Sequence[str], rng: random.Random) -> str | None:
    # A sentence's first word is capitalised anyway, unless the whole claim is a name ("Delhi").
    found = [m for m in _NAME.finditer(claim) if m.start() > 0 or m.end() >= len(claim.rstrip(" ."))]
    if not found or not names:
        return None
    match = rng.choice(found)
    other = rng.choice(names)
    if other.lower() in premise.lower():
        return None
    return claim[: match.start()] + other + claim[match.end() :]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
