"""Fakes for breaker tests: a clock the test moves, and an engine on the memory store."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from guardd.circuit.config import CircuitsConfig
from guardd.circuit.engine import Breakers
from guardd.circuit.metrics import CircuitMetrics
from guardd.events import OutputVerdict, UpstreamOutcome


@dataclass
class FakeClock:
    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000 + self.now


@dataclass
class Harness:
    """An engine on the memory store, with helpers that feed it events and let its tasks finish."""

    breakers: Breakers
    clock: FakeClock
    registry: CollectorRegistry
    config: CircuitsConfig

    async def output(self, upstream: str, *failures: str) -> None:
        self.breakers.on_output(OutputVerdict("r", upstream, "default", frozenset(failures)))  # type: ignore[arg-type]
        await self.breakers.settle()

    async def outcome(self, upstream: str, category: str = "ok", latency_ms: float = 10.0) -> None:
        self.breakers.on_outcome(
            UpstreamOutcome("r", upstream, "default", category, latency_ms, 0.0, 0, 0, 0.0)  # type: ignore[arg-type]
        )
        await self.breakers.settle()

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        await self.breakers.tick()
        await self.breakers.settle()

    def state(self, upstream: str) -> str:
        tracked = self.breakers.tracked[upstream]
        return tracked.effective.state

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def make_harness(raw: dict[str, object]) -> Harness:
    config = CircuitsConfig.model_validate(raw)
    clock = FakeClock()
    registry = CollectorRegistry()
    holder = {"config": config}
    breakers = Breakers(lambda: holder["config"], clock, CircuitMetrics(registry))
    return Harness(breakers, clock, registry, config)
