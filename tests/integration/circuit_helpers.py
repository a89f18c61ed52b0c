"""Helpers for the circuit integration tests: a policy per test, and watch streams read in threads."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import redis

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc

REFUSAL = "I'm sorry, but I can't help with that request."
ANSWER = "Paris is the capital of France."
UPSTREAM = "acme/model-1"


def circuit_policy(path: Path, url: str, prefix: str, *, open_for: str = "60s", extra: str = "") -> Path:
    path.write_text(
        f"""version: 1
policies:
  default:
    output:
      - {{name: refusal, type: refusal, threshold: 0.5, on_fail: flag}}
circuits:
  default: {{window: 10, min_calls: 4, thresholds: {{refusal: 0.5, hard: 0.5}}, open_for: {open_for}, half_open_calls: 2}}
store: {{url: "{url}", prefix: {prefix}, reconcile_interval: 200ms{extra}}}
"""
    )
    return path


def new_prefix() -> str:
    return f"guardd-it-{uuid.uuid4().hex[:10]}"


def drop_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def output(server, text: str, upstream: str = UPSTREAM) -> pb.ValidateResponse:
    request = pb.ValidateRequest(stage=pb.STAGE_OUTPUT, text=text, upstream=upstream)
    return server.stub().Validate(request, timeout=10)


def admit(server, upstream: str = UPSTREAM) -> pb.ValidateResponse:
    request = pb.ValidateRequest(stage=pb.STAGE_INPUT, text="What is the capital of France?", upstream=upstream)
    return server.stub().Validate(request, timeout=10)


def get(server, upstream: str = UPSTREAM) -> pb.Circuit:
    return server.stub().GetCircuit(pb.GetCircuitRequest(upstream=upstream), timeout=10).circuit


@contextmanager
def watching(server, upstreams: tuple[str, ...] = (UPSTREAM,)) -> Iterator[queue.Queue[pb.Circuit]]:
    """A ``WatchCircuits`` stream read into a queue by a thread, cancelled on exit."""
    received: queue.Queue[pb.Circuit] = queue.Queue()
    channel = grpc.insecure_channel(server.target)
    stream = guard_pb2_grpc.GuardStub(channel).WatchCircuits(pb.WatchCircuitsRequest(upstreams=list(upstreams)))

    def pump() -> None:
        try:
            for message in stream:
                received.put(message.circuit)
        except grpc.RpcError:
            pass

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stream.cancel()
        thread.join(5)
        channel.close()


def wait_for_state(received: queue.Queue[pb.Circuit], state: int, timeout: float = 30) -> pb.Circuit:
    """The first circuit in ``state`` the watch delivers; fails after ``timeout`` (a liveness bound, not a speed claim)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            circuit = received.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(pb.CircuitState.Name(circuit.state))
        if circuit.state == state:
            return circuit
    raise AssertionError(f"no {pb.CircuitState.Name(state)} within {timeout}s; saw {seen}")


def poll(check, timeout: float = 30, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
