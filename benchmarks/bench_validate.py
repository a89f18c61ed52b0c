"""guardd on policies/default.yaml against a bare grpc.aio echo server, side by side in one run.

    make bench            # or: .venv/bin/python benchmarks/bench_validate.py --seconds 10

Both servers run as their own processes on loopback; one client process
drives each in turn with the same 1 KB prompt, at 32 concurrent callers and
serially. Rounds alternate echo/guardd so machine drift hits both alike; the
median round is reported. Results: stdout and benchmarks/out/validate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guardd.v1 import guard_pb2 as pb
from loadgen import LoadResult, run_load

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
PROMPT = (
    "You are helping me plan a trip. I will be in Lisbon for four days in early May with two children "
    "aged 7 and 10. We like museums, parks and food markets, but we do not enjoy long queues. "
) * 6  # ~1 KB of ordinary prompt text


@dataclass(frozen=True, slots=True)
class Server:
    """A server process under test."""

    target: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (from /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(command: list[str], *, port_from_log: bool) -> Iterator[Server]:
    """Start a server process and yield it once it is listening."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stream = proc.stderr if port_from_log else proc.stdout
        if stream is None:
            raise RuntimeError("no pipe to read the port from")
        for line in stream:
            if port_from_log and '"guardd serving"' not in line:
                continue
            # Keep draining so a chatty server never blocks on a full pipe.
            threading.Thread(target=stream.read, daemon=True).start()
            port = json.loads(line)["grpc_port"] if port_from_log else int(line)
            yield Server(f"127.0.0.1:{port}", proc.pid)
            break
        else:
            raise RuntimeError(f"server exited: {command}")
    finally:
        proc.terminate()
        proc.wait(30)


def measure(target: str, concurrency: int, seconds: float) -> LoadResult:
    request = pb.ValidateRequest(request_id="bench", stage=pb.STAGE_INPUT, text=PROMPT[:1024])
    return uvloop.run(run_load(target, request, concurrency, seconds))


def median_run(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def measure_cpu(srv: Server, concurrency: int, seconds: float) -> tuple[LoadResult, float]:
    """A load run, and the server's CPU microseconds per call during it (warm-up included in neither)."""
    before = srv.cpu_seconds()
    result = measure(srv.target, concurrency, seconds)
    # The run's warm-up second is counted in CPU but not in calls: scale calls to the whole span.
    calls = result.calls * (seconds + 1.0) / seconds
    return result, (srv.cpu_seconds() - before) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured time per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--policy",
        type=Path,
        default=ROOT / "policies/default.yaml",
        help="policy guardd serves (default: the shipped one)",
    )
    args = parser.parse_args()

    echo_cmd = [sys.executable, str(ROOT / "benchmarks/echo_server.py")]
    guardd_cmd = [
        sys.executable,
        "-m",
        "guardd.cli",
        "serve",
        "--policy",
        str(args.policy),
        "--grpc-port",
        "0",
        "--metrics-port",
        "0",
        "--log-level",
        "info",
    ]
    results: dict[str, dict[str, list[LoadResult]]] = {
        "echo": {"loaded": [], "serial": []},
        "guardd": {"loaded": [], "serial": []},
    }
    cpu: dict[str, list[float]] = {"echo": [], "guardd": []}
    with server(echo_cmd, port_from_log=False) as echo, server(guardd_cmd, port_from_log=True) as guardd:
        for _ in range(args.rounds):
            for name, srv in (("echo", echo), ("guardd", guardd)):
                loaded, cpu_us = measure_cpu(srv, args.concurrency, args.seconds)
                results[name]["loaded"].append(loaded)
                cpu[name].append(cpu_us)
                results[name]["serial"].append(measure(srv.target, 1, args.seconds / 2))

    report = {
        name: {kind: median_run(runs).summary() for kind, runs in kinds.items()} for name, kinds in results.items()
    }
    for name, samples in cpu.items():
        report[name]["server"] = {"cpu_us_per_call": round(statistics.median(samples), 1)}
    report["ratio"] = {
        "rps_guardd_over_echo": round(report["guardd"]["loaded"]["rps"] / report["echo"]["loaded"]["rps"], 3),
        "serial_p50_ms_guardd": report["guardd"]["serial"]["p50_ms"],
        "server_cpu_per_call_guardd_over_echo": round(
            report["guardd"]["server"]["cpu_us_per_call"] / report["echo"]["server"]["cpu_us_per_call"], 3
        ),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "validate.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
