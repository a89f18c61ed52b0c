"""``guardd eval``: a policy's detection quality on labelled JSONL, per guardrail, with a threshold sweep."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Final

from tqdm import tqdm

from guardd.errors import GuarddError, PolicyError
from guardd.evaluation.records import Record, read_records
from guardd.evaluation.report import GuardrailReport, render, report
from guardd.evaluation.scoring import PlanScorer, Scored, Scorer, score_all

EXIT_OK, EXIT_ERRORS = 0, 1
_GRPC_DEADLINE_S: Final = 60.0


def add_eval_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``guardd eval``."""
    parser = commands.add_parser(
        "eval",
        help="score a policy (in-process) or a running guardd on labelled JSONL: bacc, TPR/FPR, AUC, sweep",
        description="Records use the schemas of shared/data: {text,label} for injection, {prompt,response,label}"
        " for refusal, {context,question,answer,label} for hallucination.",
    )
    parser.add_argument("data", type=Path, nargs="+", help="labelled JSON-lines file(s)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--policy", type=Path, help="policy YAML file or directory, run in-process")
    where.add_argument("--target", help="HOST:PORT of a running guardd (only firing guardrails report scores)")
    parser.add_argument("--name", default="", help="policy name (default: default)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many records per file")
    parser.add_argument("--concurrency", type=int, default=8, help="records in flight at once (default 8)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown tables")
    parser.set_defaults(command=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Entry point of ``guardd eval``; a user's mistake is one line on stderr and exit status 1."""
    try:
        return asyncio.run(_evaluate(args))
    except (PolicyError, GuarddError) as exc:
        print(f"guardd eval: {exc}", file=sys.stderr)
        return EXIT_ERRORS


async def _evaluate(args: argparse.Namespace) -> int:
    files = {path: _records(path, args.limit) for path in args.data}
    scorer, close = _scorer(args)
    try:
        results = []
        for path, records in files.items():
            # disable=None: a bar on a terminal, nothing in CI logs or pipes.
            with tqdm(total=len(records), desc=path.name, unit="rec", file=sys.stderr, disable=None) as bar:
                scored = await score_all(scorer, records, args.concurrency, partial(bar.update, 1))
            reports = []
            for stage, task in sorted({(r.stage, r.task) for r in records}):
                # A guardrail is judged on the records of its task only: a refusal is not a missed injection.
                mine = [i for i, r in enumerate(records) if (r.stage, r.task) == (stage, task)]
                subset, scores = [records[i] for i in mine], [scored[i] for i in mine]
                reports += [report(name, t, subset, scores) for name, t in _names(scorer, stage, task, scores)]
            results.append((path, records, reports))
    finally:
        await close()
    _print(results, as_json=args.json)
    return EXIT_OK


def _records(path: Path, limit: int | None) -> list[Record]:
    records = list(read_records(path))
    if not records:
        raise GuarddError(f"{path}: no records")
    return records[:limit] if limit else records


def _scorer(args: argparse.Namespace) -> tuple[Scorer, Callable[[], Awaitable[None]]]:
    if args.policy is not None:
        from guardd.app import load_snapshot  # noqa: PLC0415 - loads models; only this mode needs it
        from guardd.policy.holder import plan_for  # noqa: PLC0415

        plan = plan_for(load_snapshot(args.policy), args.name)

        async def nothing() -> None:
            return None

        return PlanScorer(plan), nothing
    from guardd.client import GuarddClient  # noqa: PLC0415 - gRPC client only in this mode
    from guardd.evaluation.remote import RemoteScorer  # noqa: PLC0415

    client = GuarddClient(args.target, timeout_s=_GRPC_DEADLINE_S, policy=args.name)
    return RemoteScorer(client), client.close


def _names(scorer: Scorer, stage: str, task: str, scored: list[Scored]) -> list[tuple[str, float]]:
    known = list(scorer.guardrails(stage, task))
    seen = {name for s in scored for name in s.scores} - {n for n, _ in known}
    return known + [(name, 0.5) for name in sorted(seen)]


def _print(results: list[tuple[Path, list[Record], list[GuardrailReport]]], *, as_json: bool) -> None:
    if as_json:
        payload = [{"file": str(p), "records": len(r), "guardrails": [asdict(x) for x in g]} for p, r, g in results]
        print(json.dumps(payload, indent=1, default=str))
        return
    for path, records, reports in results:
        print(render(str(path), reports, len(records), sum(r.positive for r in records)))
