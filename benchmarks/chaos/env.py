# ruff: noqa: S101 - a scenario's checks are asserts: AssertionError is how it fails
"""What scenarios run against: guardd processes on a policy they can rewrite, and a private Redis."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from guardd_harness import GuarddProcess, launch

POLICY = """version: 1
policies:
  default:
    input:
      - {{name: injection, type: injection, threshold: 0.7, on_fail: block}}
    output:
      - name: json
        type: schema
        repair: true
        on_fail: block
        schema: {{type: object, required: [answer], properties: {{answer: {{type: string}}}}}}
      - {{name: refusal, type: refusal, threshold: 0.5, on_fail: flag}}
circuits:
  default: {{window: 10, min_calls: 4, thresholds: {{hard: 0.5}}, slow_call_ms: 5000, slow_call_rate: 0.5, open_for: 1s, half_open_calls: 2}}
slo_settings: {{join_timeout: 200ms}}
slos:
  - {{name: availability, sli: availability, objective: 0.99, period: 30d}}
  - {{name: ttft, sli: ttft, threshold_ms: 2000, objective: 0.9, period: 30d}}
  - {{name: format, sli: format_ok, objective: 0.9, period: 30d}}
store: {store}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port (the shared one on 6379 is never touched)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class Env:
    """Per-scenario resources, all released by ``close``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._servers: list[GuarddProcess] = []
        self._redis: list[PrivateRedis] = []

    def policy(self, store: str = "memory", name: str = "policy.yaml") -> Path:
        path = self.directory / name
        path.write_text(POLICY.format(store=store))
        return path

    def guardd(self, policy: Path, *flags: str) -> GuarddProcess:
        server = launch(policy, *flags)
        self._servers.append(server)
        return server

    def redis(self) -> PrivateRedis:
        private = PrivateRedis(self.directory)
        private.start()
        self._redis.append(private)
        return private

    def close(self) -> None:
        for server in self._servers:
            server.close()
        for private in self._redis:
            private.stop()


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        series = head[len(name) :]
        if series and series[0] not in "{ ":
            continue
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


def eventually(check: object, timeout: float = 10.0, interval: float = 0.05) -> None:
    """Retry ``check()`` (a callable that raises AssertionError) until it passes or ``timeout``."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
        else:
            return
