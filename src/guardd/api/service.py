"""Validate and ValidateStream: request → policy snapshot → pipeline → response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from guardd.api.convert import response_message, stage_of
from guardd.api.handlers import Context, ErrorMapper, MethodHandler
from guardd.api.ports import Subsystems
from guardd.audit.record import AuditEntry
from guardd.clock import Clock
from guardd.errors import InvalidArgument, ResourceExhausted
from guardd.events import OutputVerdict, soft_failures
from guardd.guardrails.base import CheckContext, Stage
from guardd.pipeline.decision import Decision
from guardd.pipeline.plan import PolicyPlan, Snapshot
from guardd.pipeline.runner import Pipeline
from guardd.policy.holder import SnapshotHolder, plan_for
from guardd.telemetry.metrics import Metrics
from guardd.v1 import guard_pb2 as pb


def check_size(text: str, limit: int) -> None:
    """RESOURCE_EXHAUSTED when ``text`` is over ``limit`` UTF-8 bytes."""
    # Encoding a MiB costs more than the guardrails on a small prompt: only do it when it could matter.
    if len(text) * 4 <= limit:
        return
    size = len(text) if len(text) > limit else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ResourceExhausted(
            f"text is over the policy's limit of {limit} bytes (limits.max_text_bytes); split it or raise the limit"
        )


@dataclass(frozen=True, slots=True)
class _Call:
    """One request bound to the snapshot it started with."""

    snapshot: Snapshot
    plan: PolicyPlan
    stage: Stage
    request: pb.ValidateRequest
    deadline: float | None

    def context(self, *, final: bool) -> CheckContext:
        request = self.request
        return CheckContext(
            stage=self.stage,
            prompt=request.prompt,
            context=tuple(request.context),
            upstream=request.upstream,
            labels=request.labels,
            final=final,
        )


class GuardService:
    """The Validate RPCs; other Guard RPCs live in their own services."""

    def __init__(
        self, holder: SnapshotHolder, pipeline: Pipeline, metrics: Metrics, clock: Clock, links: Subsystems
    ) -> None:
        self._holder = holder
        self._pipeline = pipeline
        self._metrics = metrics
        self._clock = clock
        self._links = links

    def handlers(self, errors: ErrorMapper) -> dict[str, MethodHandler]:
        """The RPCs this service serves."""
        return {
            "Validate": errors.unary_method(self.validate, pb.ValidateRequest, pb.ValidateResponse),
            "ValidateStream": errors.bidi_method(self.validate_stream, pb.ValidateStreamRequest, pb.ValidateResponse),
        }

    async def validate(self, request: pb.ValidateRequest, context: Context) -> pb.ValidateResponse:
        start = self._clock.monotonic()
        call = self._begin(request, context, start)
        check_size(request.text, call.plan.policy.limits.max_text_bytes)
        decision = await self._judge(call, request.text, final=True)
        self._audit(call, decision, request.text)
        return self._respond(call, decision, start, final=False, publish=True)

    async def validate_stream(
        self, requests: AsyncIterator[pb.ValidateStreamRequest], context: Context
    ) -> AsyncIterator[pb.ValidateResponse]:
        call: _Call | None = None
        chunks: list[str] = []
        decision: Decision | None = None
        async for message in requests:
            start = self._clock.monotonic()
            if call is None:
                if not message.HasField("request"):
                    raise InvalidArgument("the first ValidateStream message must set 'request' (policy, stage, …)")
                call = self._begin(message.request, context, start)
                chunks.append(message.request.text)
            chunks.append(message.text_chunk)
            text = "".join(chunks)
            check_size(text, call.plan.policy.limits.max_text_bytes)
            if decision is None or decision.verdict != "block":
                decision = await self._judge(call, text, final=False)
            yield self._respond(call, decision, start, final=False, publish=False)
        if call is None:
            raise InvalidArgument("ValidateStream closed before any message: send at least one with 'request'")
        start = self._clock.monotonic()
        text = "".join(chunks)
        decision = await self._judge(call, text, final=True)
        self._audit(call, decision, text)
        yield self._respond(call, decision, start, final=True, publish=True)

    def _begin(self, request: pb.ValidateRequest, context: Context, start: float) -> _Call:
        snapshot = self._holder.current
        plan = plan_for(snapshot, request.policy)
        remaining = context.time_remaining()
        deadline = None if remaining is None else start + remaining
        return _Call(snapshot, plan, stage_of(request.stage), request, deadline)

    def _audit(self, call: _Call, decision: Decision, text: str) -> None:
        """Hand the final verdict to the decision log (a queue append; the writer thread does the rest)."""
        audit = self._links.audit
        if audit is not None:
            request = call.request
            entry = AuditEntry(
                self._clock.wall(),
                request.request_id,
                call.plan.policy.name,
                call.stage,
                request.upstream,
                call.snapshot.policies,
                decision,
                text,
            )
            audit.record(entry)

    def _circuit(self, upstream: str, *, admit: bool) -> pb.Circuit | None:
        """The upstream's breaker; a whole INPUT validation precedes a call, so it may take a half-open probe."""
        circuits = self._links.circuits
        if not upstream or circuits is None:
            return None
        return circuits.admit(upstream) if admit else circuits.circuit(upstream)

    async def _judge(self, call: _Call, text: str, *, final: bool) -> Decision:
        return await self._pipeline.run(call.plan, call.stage, text, call.context(final=final), call.deadline)

    def _respond(
        self, call: _Call, decision: Decision, start: float, *, final: bool, publish: bool
    ) -> pb.ValidateResponse:
        """The response; ``publish`` feeds a whole OUTPUT verdict to SLOs and breakers (not a stream's partial one)."""
        policy = call.plan.policy.name
        upstream = call.request.upstream
        if publish and call.stage == "output":
            blocked = decision.verdict == "block"
            failures = soft_failures((f.category for f in decision.findings), blocked=blocked)
            self._links.events.on_output(OutputVerdict(call.request.request_id, upstream, policy, failures))
        elapsed = self._clock.monotonic() - start
        self._metrics.requests.labels(policy, call.stage, decision.verdict).inc()
        self._metrics.request_duration.labels(policy, call.stage).observe(elapsed)
        response = response_message(
            call.request.request_id, decision, call.snapshot.version, elapsed * 1000, final=final
        )
        circuit = self._circuit(upstream, admit=publish and call.stage == "input")
        if circuit is not None:
            response.circuit.CopyFrom(circuit)
        return response
