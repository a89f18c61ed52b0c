"""Export a trained model (fp32 and int8) through ``guardd models export``, evaluate both, write the card."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Final

from guardd.training import grounding_fit, loso
from guardd.training.card import write_card
from guardd.training.data import Example, TaskData
from guardd.training.evaluate import (
    SERVED,
    OnnxClassifier,
    Served,
    evaluate_grounding,
    evaluate_texts,
    text_scores,
)
from guardd.training.finetune import Settings

TASK: Final = {"injection": "text-classification", "refusal": "text-classification",
               "grounding": "pair-classification"}  # fmt: skip
SHIPPED: Final = ("model.onnx", "tokenizer.json", "manifest.json")
MAX_BACC_LOSS: Final = 0.01
BENIGN_POOL: Final = {"injection": "benign_", "refusal": "", "grounding": ""}
"""The sources whose out-of-fold negatives set the FPR thresholds: ordinary prompts for injection (documents
have their own table); every compliant answer for refusal; every supported answer for grounding."""
CHOSEN: Final = {"injection": "3%", "refusal": "3%", "grounding": "bacc"}
"""The threshold a shipped policy uses, read off the leave-one-source-out pool. Injection: 3% FPR on ordinary
prompts (blocking users is the failure that matters). Refusal: 3% FPR on compliant answers, not the best
balanced accuracy (0.32 on the pool, which flags 10% of AlpacaEval's answers): the default refusal-free SLO
has a 3% budget, and false flags beyond it would page on-call for nothing. Grounding: the best balanced
accuracy (it flags, and no SLO pages on it)."""


def ship(name: str, data: TaskData, settings: Settings, work: Path, out: Path) -> dict[str, Any]:
    """fp32 and int8 exports in ``work``; int8 copied to ``out`` if it loses ≤ 1 point of balanced accuracy.

    With a leave-one-source-out run (``loso.json``), its calibration is folded into the head before export
    and its chosen threshold is the one scored here and written into the card.
    """
    served = SERVED[name]
    results: dict[str, Any] = {}
    trained = work / "hf"
    if (work / "loso.json").exists():
        found = json.loads((work / "loso.json").read_text(encoding="utf-8"))
        results["loso"] = found
        served = _served_by(served, found)
        if "calibration" in found:
            from guardd.training.finetune import calibrate  # noqa: PLC0415 - torch only here

            calibrate(trained, found["calibration"]["slope"], found["calibration"]["offset"], work / "hf-calibrated")
            trained = work / "hf-calibrated"
    results["served"] = _fields(served)
    for variant in ("fp32", "int8"):
        directory = work / f"onnx-{variant}"
        _export(trained, TASK[name], directory, settings.max_length, quantize=variant == "int8")
        results[variant] = _measure(name, directory, data, served)
    losses = {
        k: _quality(results["fp32"]["metrics"][k]) - _quality(results["int8"]["metrics"][k]) for k in data.heldout
    }
    results["int8_bacc_loss"] = {k: round(v, 4) for k, v in losses.items()}
    results["int8_ok"] = all(v <= MAX_BACC_LOSS for v in losses.values())
    results["train"] = json.loads((work / "train.json").read_text(encoding="utf-8"))
    results["settings"] = _fields(settings)
    for file in SHIPPED:
        shutil.copyfile(work / "onnx-int8" / file, out / file)
    (out / "metrics.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    write_card(name, results, out / "MODEL_CARD.md")
    return results


def _quality(row: dict[str, Any]) -> float:
    """Balanced accuracy; recall where a set has one class only (JailbreakBench)."""
    bacc = float(row["bacc"])
    return float(row["tpr"]) if math.isnan(bacc) else bacc


def _fields(obj: object) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in getattr(obj, "__slots__", ())}


def _export(source: Path, task: str, out: Path, max_length: int, *, quantize: bool) -> None:
    command = [sys.executable, "-m", "guardd.cli", "models", "export", "--from", str(source), "--task", task]
    command += ["--out", str(out), "--max-length", str(max_length)] + (["--quantize", "int8"] if quantize else [])
    subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # noqa: S603 - our own CLI


def _measure(name: str, directory: Path, data: TaskData, served: Served) -> dict[str, Any]:
    model = OnnxClassifier(directory, served.max_length)
    return {
        "metrics": _metrics(name, model, data, served),
        "latency_ms": _latency(model),
        "size_bytes": (directory / "model.onnx").stat().st_size,
    }


def _latency(model: OnnxClassifier) -> dict[str, float]:
    return {"batch1_128tok": model.latency_ms(1), "batch16_128tok": model.latency_ms(16)}


def _metrics(name: str, model: OnnxClassifier, data: TaskData, served: Served) -> dict[str, Any]:
    evaluate = evaluate_grounding if name == "grounding" else evaluate_texts
    metrics = {k: evaluate(model, v, served).row() for k, v in data.heldout.items()}
    if name == "injection":  # the target's pool: deepset + BIPIA together
        pooled = data.heldout["deepset_prompt_injections"] + data.heldout["bipia_indirect"]
        metrics["deepset+bipia"] = evaluate(model, pooled, served).row()
    return metrics


def rescore(name: str, data: TaskData, out: Path, work: Path) -> None:
    """The shipped int8 model scored again as it is served now (a serving change, not a new model).

    With a leave-one-source-out run of this very model (``loso.json``, ``--fixed-model``), its threshold
    and mix are the ones scored, and its table goes into the card.
    """
    results = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    served = SERVED[name]
    if (work / "loso.json").exists():
        results["loso"] = json.loads((work / "loso.json").read_text(encoding="utf-8"))
        served = _served_by(served, results["loso"])
    results["served"] = _fields(served)
    model = OnnxClassifier(out, served.max_length)
    results["int8"]["metrics"] = _metrics(name, model, data, served)
    results["int8"]["size_bytes"] = (out / "model.onnx").stat().st_size
    results["int8"]["latency_ms"] = _latency(model)
    results["rescored"] = True  # the fp32 export is not shipped, so only int8 can be scored again
    (out / "metrics.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    write_card(name, results, out / "MODEL_CARD.md")


def remeasure(name: str, work: Path, out: Path) -> None:
    """Latency again on a quiet machine (training elsewhere skews it), then the card from the same figures."""
    results = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    served = SERVED[name]
    for variant in ("fp32", "int8"):
        results[variant]["latency_ms"] = _latency(OnnxClassifier(work / f"onnx-{variant}", served.max_length))
    (out / "metrics.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    write_card(name, results, out / "MODEL_CARD.md")


def _served_by(served: Served, found: dict[str, Any]) -> Served:
    """How the policy serves the model after a leave-one-source-out run: its threshold, and its mix (grounding)."""
    served = replace(served, threshold=found["chosen"]["threshold"])
    if "combine" in found:  # grounding: the guardrail's model/overlap mix carries the calibration
        mix = found["combine"]
        served = replace(served, combine=(mix["model"], mix["overlap"], mix["bias"]))
    return served


def leave_one_out(
    name: str, data: TaskData, settings: Settings, work: Path, fixed: Path | None = None
) -> dict[str, Any]:
    """Score every fold model on the sources it never saw; calibrate, choose thresholds; write ``loso.json``.

    ``fixed``: one already-trained model scores every fold instead (no fold models); only sources it was
    never trained on are then out-of-source, which the card must say.
    """
    served = SERVED[name]
    models = {}
    for fold in sorted(set(data.folds.values())):
        directory = fixed or work / f"fold-{fold}" / "onnx-int8"
        if not (directory / "manifest.json").exists():
            _export(work / f"fold-{fold}" / "hf", TASK[name], directory, settings.max_length, quantize=True)
        models[fold] = OnnxClassifier(directory, served.max_length)
    if name == "grounding":
        return grounding_fit.fit(data, models, work, fixed=fixed is not None)
    floor = _rule_floor(name)
    folds: dict[int, tuple[loso.Scorer, dict[str, list[Example]]]] = {}
    for fold, model in models.items():
        folds[fold] = (partial(text_scores, model, served=served), data.without_fold(fold).heldout)
    cache = work / "loso-scores.json"  # scoring is the slow part; a changed threshold rule re-runs from here
    if cache.exists():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        raw = loso.FoldScores(saved["labels"], saved["scores"])
    else:
        raw = loso.FoldScores.collect(folds, _label)
        cache.write_text(json.dumps({"labels": raw.labels, "scores": raw.scores}), encoding="utf-8")
    calibration = loso.platt(*raw.pooled())
    scores = raw.calibrated(calibration)
    if floor is not None:  # as served: max(rules, model)
        scores = loso.FoldScores(scores.labels, {k: _fused(floor, k, v, data) for k, v in scores.scores.items()})
    thresholds = loso.thresholds(scores.benign_scores(BENIGN_POOL[name]))
    thresholds["bacc"] = loso.best_bacc_threshold(*scores.pooled())
    chosen = thresholds[CHOSEN[name]]
    result = {
        "calibration": {"slope": calibration.slope, "offset": calibration.offset},
        "thresholds": thresholds,
        "chosen": {"by": CHOSEN[name], "threshold": chosen},
        "table": loso.table(scores, chosen),
        "folds": {str(k): sorted(v[1]) for k, v in folds.items()},
        "fold_steps": _fold_steps(work),
    }
    loso.write(work / "loso.json", result)
    return result


def _rule_floor(name: str) -> Callable[[str], float] | None:
    """The rule score the guardrail takes the max with (``model_weight`` unset), as the default policy runs it."""
    from guardd.guardrails.injection import InjectionConfig  # noqa: PLC0415 - serving code, imported to mirror it
    from guardd.guardrails.refusal import RefusalRules, refusal_score  # noqa: PLC0415
    from guardd.text.normalize import normalize  # noqa: PLC0415

    if name == "injection":
        rules = InjectionConfig(name="injection", type="injection")._build_rules().rules  # noqa: SLF001
        return lambda text: rules.score(text, normalize(text)).score
    if name == "refusal":
        refusal = RefusalRules()
        return lambda text: refusal_score(refusal.hits(normalize(text)))
    return None


def _fused(floor: Callable[[str], float], source: str, scores: list[float], data: TaskData) -> list[float]:
    return [max(floor(e.text), s) for e, s in zip(data.sources[source], scores, strict=True)]


def _label(example: Example) -> int:
    return example.label


def _fold_steps(work: Path) -> int | None:
    """Steps the fold models were trained for (the card says so when the shipped model trained longer)."""
    stats = work / "fold-0" / "train.json"
    return int(json.loads(stats.read_text(encoding="utf-8"))["steps"]) if stats.exists() else None
