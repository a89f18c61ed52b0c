"""A real ``guardd serve`` process on loopback for tests, and stubs to call it.

A plain module rather than conftest code, so any test can ``from guardd_harness import launch``
(several conftest modules share that name, so importing from one is ambiguous).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from guardd.v1 import guard_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 60


@dataclass
class GuarddProcess:
    """A ``guardd serve`` subprocess; its JSON log lines are collected as they arrive."""

    process: subprocess.Popen[str]
    logs: list[dict[str, object]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    grpc_port: int = 0
    metrics_port: int = 0
    pump: threading.Thread | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)

    def stub(self) -> guard_pb2_grpc.GuardStub:
        return guard_pb2_grpc.GuardStub(self.channel())

    def wait_for_log(self, message: str, timeout: float = 30, after: int = 0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.logs[after:]:
                if entry.get("message") == message:
                    return entry
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no log {message!r}; got: {self.raw[-20:]}")

    def metrics_text(self) -> str:
        import urllib.request  # noqa: PLC0415

        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.close()
        return code

    def close(self) -> None:
        """Reap the process and release its pipe once the log pump has read to the end."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.pump is not None:
            self.pump.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _pump(proc: GuarddProcess) -> None:
    assert proc.process.stderr is not None
    for line in proc.process.stderr:
        proc.raw.append(line)
        try:
            proc.logs.append(json.loads(line))
        except json.JSONDecodeError:
            proc.logs.append({"message": line.rstrip()})


def launch(policy: Path, *args: str) -> GuarddProcess:
    """Start ``guardd serve`` on ephemeral loopback ports and wait until it serves."""
    command = [
        sys.executable,
        "-m",
        "guardd.cli",
        "serve",
        "--policy",
        str(policy),
        "--grpc-port",
        "0",
        "--metrics-port",
        "0",
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    proc = GuarddProcess(process)
    proc.pump = threading.Thread(target=_pump, args=(proc,), daemon=True)
    proc.pump.start()
    try:
        serving = proc.wait_for_log("guardd serving", timeout=STARTUP_TIMEOUT_S)
    except AssertionError:
        proc.close()
        raise
    proc.grpc_port = int(serving["grpc_port"])  # type: ignore[call-overload]
    proc.metrics_port = int(serving["metrics_port"])  # type: ignore[call-overload]
    return proc


def audit_verify(path: Path) -> subprocess.CompletedProcess[str]:
    """``guardd audit verify PATH`` as an operator runs it."""
    command = [sys.executable, "-m", "guardd.cli", "audit", "verify", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
