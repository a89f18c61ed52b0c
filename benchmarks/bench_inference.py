"""Micro-batching benchmark: raw session.run ceiling vs guardd micro-batched vs guardd max_batch 1.

One command, one run, one model (all-MiniLM-L6-v2 exported to ONNX by ``guardd models export``):

    .venv/bin/python benchmarks/bench_inference.py --model-dir .cache/minilm-onnx

Workload: a ``hallucination`` guardrail in ``grounding`` mode over the embedding
model. Each request carries one claim and one context passage of N tokens, so
it costs exactly two N-token sequences; throughput is reported in sequences/s
for all three, so the raw ceiling and guardd compare directly. The client runs
on the same 2-core box (as in the other benchmarks), 32 concurrent callers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort
import uvloop
from prometheus_client.parser import text_string_to_metric_families
from tokenizers import Tokenizer

from guardd.inference.config import ModelConfig
from guardd.inference.session import session_options
from guardd.v1 import guard_pb2 as pb
from loadgen import run_load

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out/inference.json"
WORDS = [
    "river",
    "city",
    "bridge",
    "tower",
    "market",
    "museum",
    "garden",
    "harbour",
    "station",
    "library",
    "school",
    "church",
    "square",
    "park",
]
CONCURRENCY = 32


def text_of(tokenizer: Tokenizer, tokens: int, seed: int) -> str:
    """A sentence without inner full stops that tokenises to exactly ``tokens`` (with [CLS]/[SEP])."""
    rng = np.random.default_rng(seed)
    words = ["the"]
    while len(tokenizer.encode(" ".join(words)).ids) < tokens:
        words.append(str(rng.choice(WORDS)))
    return " ".join(words[:-1] if len(tokenizer.encode(" ".join(words)).ids) > tokens else words)


def raw_ceiling(model_dir: Path, tokenizer: Tokenizer, tokens: int, seconds: float) -> dict[str, object]:
    """Sequences/s of session.run alone at each batch size, with guardd's own session options."""
    config = ModelConfig(path="model.onnx", tokenizer="tokenizer.json", task="embedding")
    session = ort.InferenceSession(
        str(model_dir / "model.onnx"), session_options(config), providers=["CPUExecutionProvider"]
    )
    ids = np.array([tokenizer.encode(text_of(tokenizer, tokens, 1)).ids], dtype=np.int64)
    rates: dict[int, float] = {}
    latency_b1: list[float] = []
    for batch in (1, 2, 4, 8, 16, 32):
        feeds = {"input_ids": np.repeat(ids, batch, 0), "attention_mask": np.ones((batch, ids.shape[1]), np.int64)}
        if "token_type_ids" in {i.name for i in session.get_inputs()}:
            feeds["token_type_ids"] = np.zeros((batch, ids.shape[1]), np.int64)
        session.run(None, feeds)
        done, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            start = time.perf_counter()
            session.run(None, feeds)
            if batch == 1:
                latency_b1.append((time.perf_counter() - start) * 1000)
            done += batch
        rates[batch] = done / (time.perf_counter() - began)
    best = max(rates, key=lambda b: rates[b])
    return {
        "seq_per_s_by_batch": {b: round(r, 1) for b, r in rates.items()},
        "best_batch": best,
        "ceiling_seq_per_s": round(rates[best], 1),
        "batch1_p50_ms": round(statistics.median(latency_b1), 2),
    }


def policy(model_dir: Path, max_batch: int, max_wait_ms: float) -> str:
    return f"""version: 1
policies:
  default:
    output:
      - {{name: grounded, type: hallucination, model: minilm, numbers: false, on_fail: flag, timeout_ms: 30000}}
models:
  minilm: {{path: {model_dir}/model.onnx, tokenizer: {model_dir}/tokenizer.json, task: embedding,
            max_length: 256, max_batch: {max_batch}, max_wait_ms: {max_wait_ms}}}
"""


def batch_sizes(metrics: str) -> dict[str, float]:
    for family in text_string_to_metric_families(metrics):
        if family.name == "guardd_inference_batch_size":
            buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
            count = next(s.value for s in family.samples if s.name.endswith("_count"))
            total = next(s.value for s in family.samples if s.name.endswith("_sum"))
            return {"mean": round(total / max(count, 1), 2), "batches": count, "cumulative_le": buckets}
    return {}


@contextmanager
def guardd(policy_path: Path) -> Iterator[tuple[str, int]]:
    """``guardd serve`` on free ports; yields (grpc target, metrics port) once it serves."""
    command = [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(policy_path)]
    command += ["--grpc-port", "0", "--metrics-port", "0"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        if proc.stderr is None:
            raise RuntimeError("no pipe to read guardd's log from")
        for line in proc.stderr:
            if '"guardd serving"' in line:
                entry = json.loads(line)
                # Keep draining so the server never blocks on a full pipe.
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                yield f"127.0.0.1:{entry['grpc_port']}", int(entry["metrics_port"])
                break
        else:
            raise RuntimeError("guardd exited before serving")
    finally:
        proc.terminate()
        proc.wait(30)


def through_guardd(
    model_dir: Path, request: pb.ValidateRequest, max_batch: int, max_wait_ms: float, seconds: float
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(policy(model_dir, max_batch, max_wait_ms))
        with guardd(path) as (target, metrics_port):
            result = uvloop.run(run_load(target, request, CONCURRENCY, seconds, warmup_s=2.0))
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    summary = result.summary()
    return {
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "seq_per_s": round(2 * result.rps, 1),
        "rps": summary["rps"],
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "errors": summary["errors"],
        "batch_size": batch_sizes(metrics),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / ".cache/minilm-onnx")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--tokens", type=int, nargs="+", default=[64, 200])
    parser.add_argument("--waits", type=float, nargs="+", default=[0.0, 1.0, 2.0, 5.0, 10.0])
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(str(args.model_dir / "tokenizer.json"))
    # MiniLM's tokenizer.json pads to 128: measure the lengths we ask for.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    report: dict[str, object] = {"device": "cpu (no GPU on this machine)", "concurrency": CONCURRENCY}
    for tokens in args.tokens:
        row: dict[str, object] = {"raw": raw_ceiling(args.model_dir, tokenizer, tokens, args.seconds / 2)}
        request = pb.ValidateRequest(
            stage=pb.STAGE_OUTPUT, text=text_of(tokenizer, tokens, 2), context=[text_of(tokenizer, tokens, 3)]
        )
        row["batch1"] = through_guardd(args.model_dir, request, 1, 0.0, args.seconds)
        row["knee"] = [through_guardd(args.model_dir, request, 32, w, args.seconds) for w in args.waits]
        report[f"{tokens}_tokens"] = row
        print(json.dumps({f"{tokens}_tokens": row}, indent=1), flush=True)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
