"""guardd with policies/default.yaml and the shipped models: RSS, and Validate latency through gRPC.

    .venv/bin/python benchmarks/bench_shipped_models.py [--calls 200] [--threading shipped data-parallel]

Starts ``guardd serve`` on the default policy (injection, refusal and grounding
models loaded), then calls Validate serially: the OUTPUT stage with a ~1 KB
answer and ~2 KB of context (hallucination + refusal guardrails, concurrent),
the same request on a policy holding the hallucination guardrail alone (the
issue's latency target), once more with a prompt (each claim is then read after
the question), and the INPUT stage with a ~1 KB prompt (injection). Reports p50/p95
client latency, the OUTPUT stage's throughput at 8 concurrent clients, and the server's
RSS after the runs and after a stress run (32 OUTPUT clients with the prompt and 32 INPUT
clients with 4 KB prompts, at once, 15 s): a sidecar's RSS is its peak.
``--threading shipped data-parallel`` runs it twice, side by side: as shipped, and with the
grounding model data-parallel (``intra_op_threads: 1``, ``concurrency: auto``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import uvloop
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import PROMPT, ROOT, server
from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc as pbg
from loadgen import run_load

OUT = ROOT / "benchmarks/out"
CONTEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after "
    "the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889. It was the "
    "centrepiece of the 1889 World's Fair. The tower is 330 metres tall, about the same height as an 81-storey "
    "building, and was the tallest man-made structure in the world until 1930. It has three levels for visitors, "
    "with restaurants on the first and second. The top level's upper platform is 276 m above the ground. "
) * 4  # ~2 KB
ANSWER = (
    "The Eiffel Tower stands on the Champ de Mars in Paris. Gustave Eiffel's company designed and built it "
    "between 1887 and 1889 for the World's Fair. It is 330 metres tall and was the tallest structure in the "
    "world until 1930. Visitors can reach three levels, and there are restaurants on the first two. The upper "
    "platform of the top level is 276 metres above the ground. It is one of the most visited monuments in the "
    "world and a global icon of France. The tower was almost demolished in 1909 but was saved because it was "
    "useful as a radio antenna. Today it is repainted every seven years to protect it from rust and weather. "
    "The tower was named after Gustave Eiffel, the engineer whose company built it for the 1889 fair. Before "
    "1930 no other man-made structure in the world was taller than its 330 metres. Restaurants can be found "
    "on the first and on the second level, and the upper platform is 276 metres above the ground. It remains "
    "one of the most photographed structures on Earth, and millions of people visit it every year."
)  # ~1 KB

QUESTION = (
    "Using only the passage above, describe the Eiffel Tower for a visitor: where it stands, who built it and "
    "when, how tall it is, what visitors can do on its levels, and anything else worth knowing before going."
)  # 37 words: each claim is read after its last 32 (question_words)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def latencies(stub: pbg.GuardStub, request: pb.ValidateRequest, calls: int) -> dict[str, float]:
    for _ in range(10):
        stub.Validate(request, timeout=30)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        stub.Validate(request, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times))], 2)}


def with_hallucination_alone(policy: Path, target: Path, threading: str = "shipped") -> Path:
    """``policy`` plus a policy ``hallucination_only`` holding its hallucination guardrail, model paths absolute.

    ``threading: data-parallel`` runs the grounding model as one single-threaded run per core.
    """
    document = yaml.safe_load(policy.read_text(encoding="utf-8"))
    for model in document.get("models", {}).values():
        for key in ("path", "tokenizer"):
            model[key] = str((policy.parent / model[key]).resolve())
    if threading == "data-parallel":
        document["models"]["grounding"].update({"intra_op_threads": 1, "concurrency": "auto"})
    output = document["policies"]["default"]["output"]
    alone = [g for g in output if g["type"] == "hallucination"]
    document["policies"]["hallucination_only"] = {"description": "benchmark", "output": alone}
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def measure(policy: Path, threading: str, calls: int) -> dict[str, object]:
    """One server on ``policy`` (with ``threading``): latencies, OUTPUT throughput at 8 clients, RSS."""
    with tempfile.TemporaryDirectory() as workdir:
        derived = with_hallucination_alone(policy, Path(workdir) / "policy.yaml", threading)
        command = [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(derived)]
        command += ["--grpc-port", "0", "--metrics-port", "0", "--log-level", "info"]
        output = pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=ANSWER, context=[CONTEXT])
        alone = pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=ANSWER, context=[CONTEXT], policy="hallucination_only")
        asked = pb.ValidateRequest()
        asked.CopyFrom(alone)
        asked.prompt = QUESTION
        prompt = pb.ValidateRequest(stage=pb.STAGE_INPUT, text=PROMPT[:1024])
        with server(command, port_from_log=True) as srv:
            rss_idle = rss_mb(srv.pid)
            stub = pbg.GuardStub(grpc.insecure_channel(srv.target))
            findings = [f.guardrail for f in stub.Validate(output, timeout=30).findings]
            loaded = uvloop.run(run_load(srv.target, output, 8, 8.0))
            report: dict[str, object] = {
                "threading": threading,
                "answer_bytes": len(ANSWER.encode()),
                "context_bytes": len(CONTEXT.encode()),
                "output_findings_on_grounded_answer": findings,
                "output_hallucination_and_refusal": latencies(stub, output, calls),
                "output_hallucination_alone": latencies(stub, alone, calls),
                "output_hallucination_alone_with_prompt": latencies(stub, asked, calls),
                "input_injection_1kb": latencies(stub, prompt, calls),
                "output_8_clients": {"rps": round(loaded.rps, 1), "p50_ms": round(loaded.percentile(0.5), 2)},
                "rss_mb_after_warmup": round(rss_idle, 1),
                "rss_mb_after_runs": round(rss_mb(srv.pid), 1),
            }
            long_prompt = pb.ValidateRequest(stage=pb.STAGE_INPUT, text=PROMPT * 4)
            uvloop.run(_stress(srv.target, asked, long_prompt))
            report["rss_mb_after_stress"] = round(rss_mb(srv.pid), 1)
            return report


async def _stress(target: str, output: pb.ValidateRequest, prompt: pb.ValidateRequest) -> None:
    await asyncio.gather(run_load(target, output, 32, 15.0), run_load(target, prompt, 32, 15.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--policy", type=Path, default=ROOT / "policies/default.yaml")
    parser.add_argument("--threading", nargs="+", choices=["shipped", "data-parallel"], default=["shipped"])
    args = parser.parse_args()
    reports = [measure(args.policy, threading, args.calls) for threading in args.threading]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "shipped_models.json").write_text(json.dumps(reports, indent=2))
    print(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
