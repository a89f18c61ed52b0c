"""An async client for services that wrap every LLM call in guardd.

The sidecar must never become the outage: when it is unreachable or slower
than the client's deadline, the client answers for it according to
``on_unavailable`` (fail_open: allow; fail_closed: block) and says so in an
error finding, instead of raising into the service's request path. Mistakes
in the request itself (bad stage, unknown policy, text too large) still raise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Literal, Self

import grpc

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc

OnUnavailable = Literal["fail_open", "fail_closed"]
CLIENT_GUARDRAIL = "guardd-client"
# The sidecar's own fault or absence; anything else is the caller's mistake and raises.
_SIDECAR_DOWN = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


class GuarddClient:
    """Validate prompts and completions with a default deadline and a fail mode.

    Use as ``async with GuarddClient() as guard: verdict = await guard.check_input(prompt)``.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout_s: float = 0.25,
        on_unavailable: OnUnavailable = "fail_open",
        policy: str = "",
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self._channel = channel or grpc.aio.insecure_channel(target)
        self._stub = guard_pb2_grpc.GuardStub(self._channel)  # type: ignore[no-untyped-call]
        self._timeout = timeout_s
        self._on_unavailable = on_unavailable
        self._policy = policy

    async def check_input(
        self, prompt: str, *, upstream: str = "", request_id: str = "", labels: Mapping[str, str] | None = None
    ) -> pb.ValidateResponse:
        """Judge a prompt before it goes to the model."""
        request = self._request(pb.STAGE_INPUT, prompt, upstream, request_id, labels)
        return await self._validate(request)

    async def check_output(  # noqa: PLR0913 - mirrors ValidateRequest's fields
        self,
        completion: str,
        *,
        prompt: str = "",
        context: Iterable[str] = (),
        upstream: str = "",
        request_id: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> pb.ValidateResponse:
        """Judge a completion before it goes back to the user."""
        request = self._request(pb.STAGE_OUTPUT, completion, upstream, request_id, labels)
        request.prompt = prompt
        request.context.extend(context)
        return await self._validate(request)

    def _request(
        self, stage: pb.Stage, text: str, upstream: str, request_id: str, labels: Mapping[str, str] | None
    ) -> pb.ValidateRequest:
        return pb.ValidateRequest(
            request_id=request_id, policy=self._policy, stage=stage, text=text, upstream=upstream, labels=labels or {}
        )

    async def _validate(self, request: pb.ValidateRequest) -> pb.ValidateResponse:
        try:
            response: pb.ValidateResponse = await self._stub.Validate(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in _SIDECAR_DOWN:
                raise
            return self._answer_for_sidecar(request, exc)
        return response

    def _answer_for_sidecar(self, request: pb.ValidateRequest, exc: grpc.aio.AioRpcError) -> pb.ValidateResponse:
        closed = self._on_unavailable == "fail_closed"
        finding = pb.Finding(
            guardrail=CLIENT_GUARDRAIL,
            category="sidecar_unavailable",
            action=pb.ACTION_FAIL_CLOSED if closed else pb.ACTION_FAIL_OPEN,
            message=f"guardd did not answer ({exc.code().name}); applied {self._on_unavailable}",
            error=True,
        )
        return pb.ValidateResponse(
            request_id=request.request_id,
            verdict=pb.VERDICT_BLOCK if closed else pb.VERDICT_ALLOW,
            text=request.text,
            findings=[finding],
        )

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
