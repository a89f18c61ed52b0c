"""``guardd models export``: the CLI face of ``guardd.inference.export`` (train extra only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, get_args

from guardd.inference.config import Task

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def add_models_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Register ``models export`` on the top-level parser."""
    models = commands.add_parser("models", help="prepare ONNX models for a policy's models: section")
    sub = models.add_subparsers(required=True, metavar="ACTION")
    export = sub.add_parser("export", help="export a Hugging Face model directory to ONNX (needs the train extra)")
    export.add_argument("--from", dest="source", type=Path, required=True, help="HF model directory (config.json …)")
    export.add_argument("--task", choices=get_args(Task), required=True)
    export.add_argument("--out", type=Path, required=True, help="directory for model.onnx, tokenizer.json, manifest")
    export.add_argument("--max-length", type=int, default=256)
    export.add_argument("--quantize", choices=["int8"], default=None, help="dynamic int8 weight quantization")
    export.add_argument("--name", default="model", help="model name in the printed policy snippet")
    export.set_defaults(command=_export)


def _export(args: argparse.Namespace) -> int:
    try:
        from guardd.inference.export import ExportError, export, policy_snippet  # noqa: PLC0415 - pulls numpy only

        manifest = export(
            args.source, args.task, args.out, max_length=args.max_length, quantize=args.quantize == "int8"
        )
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"{exc.name} is missing: pip install 'guardd[train]' (torch==2.13.0, transformers, onnxscript)\n"
        )
        return EXIT_USAGE
    except (ExportError, OSError, ValueError) as exc:
        sys.stderr.write(f"export failed: {exc}\n")
        return EXIT_ERRORS
    sys.stdout.write(
        f"wrote {args.out}/model.onnx (sha256 {manifest.sha256}, max |onnx - torch| {manifest.max_abs_diff})\n"
    )
    sys.stdout.write(policy_snippet(args.name, args.out, manifest) + "\n")
    return EXIT_OK
