"""Breakers across a fleet: propagation delay of a trip, and Validate overhead of breakers on vs off.

    .venv/bin/python benchmarks/bench_circuits.py [--trials 200 --reconcile-trials 40 --seconds 5 --rounds 3]

Starts a private redis-server on a free loopback port and 5 guardd replicas
sharing it. For each trial one replica is tripped by real OUTPUT validations
(refusals) on a fresh upstream; every other replica's WatchCircuits stream
reports when it sees OPEN. Delay = arrival at the watcher - the transition's
Redis TIME (same host, same clock). Measured with pub/sub, then with pub/sub
off (reconcile every 1 s only). Then Validate (INPUT, 1 KB, upstream set) at
32 concurrent clients against a replica with breakers on (Redis store) and
one with breakers off, alternating rounds in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import uvloop

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc
from loadgen import LoadResult, run_load

OUT = Path(__file__).resolve().parent / "out"
REFUSAL = "I'm sorry, but I can't help with that request."
PROMPT = ("You are helping me plan a trip to Lisbon with two children; we like museums and parks. " * 12)[:1024]
POLICY = """version: 1
policies:
  default:
    output:
      - {{name: refusal, type: refusal, threshold: 0.5, on_fail: flag}}
circuits:
  enabled: {enabled}
  default: {{window: 10, min_calls: 4, thresholds: {{refusal: 0.5}}, open_for: 10m}}
store: {{url: "{url}", prefix: {prefix}, pubsub: {pubsub}, reconcile_interval: 1s}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    port = free_port()
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*command, "--dir", str(directory)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def replica(policy: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(policy), "--grpc-port", "0", "--no-metrics"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if proc.stderr is None:
            raise RuntimeError("no stderr pipe")
        for line in proc.stderr:
            if '"guardd serving"' in line:
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                yield f"127.0.0.1:{json.loads(line)['grpc_port']}"
                break
        else:
            raise RuntimeError("guardd exited before serving")
    finally:
        proc.terminate()
        proc.wait(30)


def write_policy(directory: Path, url: str, *, pubsub: bool = True, enabled: bool = True) -> Path:
    path = directory / f"policy-{uuid.uuid4().hex[:6]}.yaml"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    path.write_text(POLICY.format(url=url, prefix=prefix, pubsub=str(pubsub).lower(), enabled=str(enabled).lower()))
    return path


async def watch(target: str, seen: dict[str, list[float]], ready: asyncio.Event) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stream = guard_pb2_grpc.GuardStub(channel).WatchCircuits(pb.WatchCircuitsRequest())
        ready.set()
        async for message in stream:
            circuit = message.circuit
            if circuit.state == pb.CIRCUIT_STATE_OPEN:
                delay_ms = time.time() * 1000 - circuit.changed_at.ToMilliseconds()
                seen.setdefault(circuit.upstream, []).append(delay_ms)


async def propagation(targets: list[str], trials: int, spacing_s: float) -> list[float]:
    """Delays (ms) from each trip on targets[0] to OPEN on every other replica."""
    seen: dict[str, list[float]] = {}
    readies = [asyncio.Event() for _ in targets[1:]]
    watchers = [asyncio.create_task(watch(t, seen, r)) for t, r in zip(targets[1:], readies, strict=True)]
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(0.5)
    async with grpc.aio.insecure_channel(targets[0]) as channel:
        stub = guard_pb2_grpc.GuardStub(channel)
        for trial in range(trials):
            request = pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=REFUSAL, upstream=f"bench/u{trial}")
            for _ in range(4):
                await stub.Validate(request, timeout=10)
            await asyncio.sleep(spacing_s)
    deadline = time.monotonic() + 10
    # Polled: the watchers only append to a dict; an Event per arrival would cost more than this loop.
    while time.monotonic() < deadline and sum(len(v) for v in seen.values()) < trials * len(watchers):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    for task in watchers:
        task.cancel()
    return [d for delays in seen.values() for d in delays]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.5), 2),
        "p99_ms": round(pick(0.99), 2),
        "max_ms": round(ordered[-1], 2),
    }


def fleet_delays(directory: Path, url: str, trials: int, *, pubsub: bool) -> dict[str, float]:
    policy = write_policy(directory, url, pubsub=pubsub)
    with ExitStack() as stack:
        targets = [stack.enter_context(replica(policy)) for _ in range(5)]
        spacing = 0.02 if pubsub else 0.05
        return percentiles(uvloop.run(propagation(targets, trials, spacing)))


def overhead(directory: Path, url: str, seconds: float, rounds: int) -> dict[str, dict[str, float]]:
    request = pb.ValidateRequest(stage=pb.STAGE_INPUT, text=PROMPT, upstream="bench/overhead")
    runs: dict[str, list[LoadResult]] = {"on": [], "off": []}
    with replica(write_policy(directory, url)) as on, replica(write_policy(directory, url, enabled=False)) as off:
        for _ in range(rounds):
            for name, target in (("on", on), ("off", off)):
                runs[name].append(uvloop.run(run_load(target, request, 32, seconds)))
    return {name: _median(results).summary() for name, results in runs.items()}


def _median(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--reconcile-trials", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        directory = Path(tmp)
        result = {
            "propagation_pubsub": fleet_delays(directory, url, args.trials, pubsub=True),
            "propagation_reconcile_only": fleet_delays(directory, url, args.reconcile_trials, pubsub=False),
            "validate_32_clients": overhead(directory, url, args.seconds, args.rounds),
        }
    on, off = result["validate_32_clients"]["on"], result["validate_32_clients"]["off"]
    result["overhead"] = {
        "rps_ratio_on_off": round(on["rps"] / off["rps"], 3),
        "p50_ms_delta": round(on["p50_ms"] - off["p50_ms"], 3),
        "p99_ms_delta": round(on["p99_ms"] - off["p99_ms"], 3),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_circuits.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
