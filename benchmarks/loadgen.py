"""Closed-loop gRPC load: N concurrent callers for a fixed time, latencies recorded."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import grpc

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Throughput and latency of one load run."""

    concurrency: int
    seconds: float
    calls: int
    errors: int
    latencies_ms: tuple[float, ...]

    @property
    def rps(self) -> float:
        return self.calls / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, float]:
        return {
            "concurrency": self.concurrency,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(0.5), 3),
            "p99_ms": round(self.percentile(0.99), 3),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 3),
            "calls": self.calls,
            "errors": self.errors,
        }


async def run_load(
    target: str, request: pb.ValidateRequest, concurrency: int, seconds: float, warmup_s: float = 1.0
) -> LoadResult:
    """Drive ``target`` with ``concurrency`` callers sharing one channel."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = guard_pb2_grpc.GuardStub(channel)
        await _drive(stub, request, concurrency, warmup_s)
        return await _drive(stub, request, concurrency, seconds)


async def _drive(
    stub: guard_pb2_grpc.GuardStub, request: pb.ValidateRequest, concurrency: int, seconds: float
) -> LoadResult:
    latencies: list[float] = []
    errors = [0]
    end = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < end:
            start = time.perf_counter()
            try:
                await stub.Validate(request, timeout=10)
            except grpc.aio.AioRpcError:
                errors[0] += 1
                continue
            latencies.append((time.perf_counter() - start) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return LoadResult(concurrency, time.perf_counter() - began, len(latencies), errors[0], tuple(latencies))
