"""A simulated upstream LLM: what a service would see from its provider, and what it reports to guardd.

Each call goes the way a real service's would: INPUT Validate (which also
admits the call through the breaker), the "provider call" (simulated: a
status, a latency, a completion), ReportOutcome, then OUTPUT Validate.
Faults are switched on per scenario.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import grpc

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc

UPSTREAM = "sim/llm-1"
GOOD = '{"answer": "Lisbon has excellent museums and parks.", "confidence": 0.8}'


@dataclass
class Faults:
    """What is wrong with the provider right now."""

    status: int = 200
    error_type: str = ""
    latency_ms: float = 400.0
    ttft_ms: float = 150.0
    corrupt: bool = False
    cost_usd: float = 0.002


@dataclass(frozen=True)
class CallResult:
    """What one simulated call saw."""

    admitted: bool
    circuit: pb.Circuit
    output: pb.ValidateResponse | None


class SimulatedUpstream:
    """Drives guardd like a service calling one flaky provider."""

    def __init__(self, channel: grpc.Channel, seed: int = 7) -> None:
        self.guard = guard_pb2_grpc.GuardStub(channel)
        self.faults = Faults()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not secrets

    def completion(self) -> str:
        if not self.faults.corrupt:
            return GOOD
        broken = [GOOD[: self._rng.randrange(5, len(GOOD) - 5)], "".join(self._rng.choices('{}[]":,ab \n', k=40))]
        return self._rng.choice([*broken, '```json\n{"answer": "fixable",}\n```'])

    def call(self) -> CallResult:
        request_id = uuid.uuid4().hex
        ask = pb.ValidateRequest(
            request_id=request_id, stage=pb.STAGE_INPUT, text="Plan a day in Lisbon.", upstream=UPSTREAM
        )
        admitted = self.guard.Validate(ask, timeout=5)
        if not admitted.circuit.allow_request:
            return CallResult(admitted=False, circuit=admitted.circuit, output=None)
        f = self.faults
        outcome = pb.ReportOutcomeRequest(
            request_id=request_id,
            upstream=UPSTREAM,
            status_code=f.status,
            error_type=f.error_type,
            latency_ms=f.latency_ms,
            ttft_ms=f.ttft_ms,
            input_tokens=20,
            output_tokens=40,
            cost_usd=f.cost_usd,
        )
        reported = self.guard.ReportOutcome(outcome, timeout=5)
        output = None
        if f.status == 200:
            answer = pb.ValidateRequest(
                request_id=request_id, stage=pb.STAGE_OUTPUT, text=self.completion(), upstream=UPSTREAM
            )
            output = self.guard.Validate(answer, timeout=5)
        return CallResult(admitted=True, circuit=reported.circuit, output=output)

    def circuit(self) -> pb.Circuit:
        return self.guard.GetCircuit(pb.GetCircuitRequest(upstream=UPSTREAM), timeout=5).circuit

    def slo(self, name: str) -> pb.SLOStatus:
        statuses = self.guard.GetSLOStatus(pb.GetSLOStatusRequest(name=name, upstream=UPSTREAM), timeout=5).slos
        return statuses[0]
