"""The ``guardd.v1.Guard`` generic handler, with errors mapped to statuses in one place.

Each service contributes its methods (``handlers(errors)``) rather than
subclassing the generated servicer, so the Guard RPCs can live in the
subsystem they belong to. Handlers are built by hand for one more reason: a request frame that fails to
decode (e.g. invalid UTF-8 in a string field) must be INVALID_ARGUMENT with a
useful message, and grpc turns a deserializer exception into INTERNAL. So
deserializers return an ``Undecodable`` marker that the handler rejects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from guardd.errors import GuarddError, InvalidArgument
from guardd.telemetry.logs import request_id
from guardd.telemetry.metrics import Metrics
from guardd.v1 import guard_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["Guard"].full_name

M = TypeVar("M", bound=Message)
# Strings: grpc's runtime classes are not subscriptable, only its stubs are.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
MethodHandler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
GenericHandler: TypeAlias = "grpc.GenericRpcHandler[Any, Any]"
Unary = Callable[[Any, Context], Awaitable[Message]]
ServerStream = Callable[[Any, Context], AsyncIterator[Message]]
BidiStream = Callable[[AsyncIterator[Any], Context], AsyncIterator[Message]]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A request frame that protobuf could not decode."""

    reason: str


def decoder(message_type: type[M]) -> Callable[[bytes], M | Undecodable]:
    """A request deserializer that hands undecodable frames to the handler instead of failing as INTERNAL."""

    def decode(data: bytes) -> M | Undecodable:
        try:
            return message_type.FromString(data)
        except DecodeError as exc:
            return Undecodable(str(exc))

    return decode


def _checked(request: object) -> Any:  # noqa: ANN401 - the message type is the handler's
    if isinstance(request, Undecodable):
        raise InvalidArgument(f"request could not be decoded ({request.reason}); string fields must be valid UTF-8")
    return request


class ErrorMapper:
    """Turns ``GuarddError`` into the matching gRPC status, counts it, and tracks in-flight RPCs."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def _abort(self, context: Context, exc: GuarddError) -> None:
        self._metrics.rejected.labels(exc.code.name).inc()
        await context.abort(exc.code, str(exc))

    def unary(self, behavior: Unary) -> Unary:
        async def handle(request: object, context: Context) -> Message:
            self._metrics.inflight.inc()
            # Each RPC runs in its own task, so this scopes the id to this call's logs.
            request_id.set(getattr(request, "request_id", ""))
            try:
                return await behavior(_checked(request), context)
            except GuarddError as exc:
                await self._abort(context, exc)
                raise  # abort() raised already; this keeps type checkers honest
            finally:
                self._metrics.inflight.dec()

        return handle

    def bidi(self, behavior: BidiStream) -> BidiStream:
        async def handle(requests: AsyncIterator[object], context: Context) -> AsyncIterator[Message]:
            self._metrics.inflight.inc()
            try:
                async for response in behavior(_checked_stream(requests), context):
                    yield response
            except GuarddError as exc:
                await self._abort(context, exc)
            finally:
                self._metrics.inflight.dec()

        return handle

    def server_stream(self, behavior: ServerStream) -> ServerStream:
        # Not counted in flight: a watch stays open for the life of its client and is not load.
        async def handle(request: object, context: Context) -> AsyncIterator[Message]:
            try:
                async for response in behavior(_checked(request), context):
                    yield response
            except GuarddError as exc:
                await self._abort(context, exc)

        return handle

    def unary_method(self, behavior: Unary, request: type[Message], response: type[Message]) -> MethodHandler:
        """A unary RPC handler with safe decoding and mapped errors."""
        return grpc.unary_unary_rpc_method_handler(
            self.unary(behavior), request_deserializer=decoder(request), response_serializer=_serializer(response)
        )

    def server_stream_method(
        self, behavior: ServerStream, request: type[Message], response: type[Message]
    ) -> MethodHandler:
        """A server-streaming RPC handler with safe decoding and mapped errors."""
        return grpc.unary_stream_rpc_method_handler(
            self.server_stream(behavior),
            request_deserializer=decoder(request),
            response_serializer=_serializer(response),
        )

    def bidi_method(self, behavior: BidiStream, request: type[Message], response: type[Message]) -> MethodHandler:
        """A bidi-streaming RPC handler with safe decoding and mapped errors."""
        return grpc.stream_stream_rpc_method_handler(
            self.bidi(behavior), request_deserializer=decoder(request), response_serializer=_serializer(response)
        )


def _serializer(message_type: type[Message]) -> Callable[[Message], bytes]:
    return message_type.SerializeToString


async def _checked_stream(requests: AsyncIterator[object]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _checked(request)


def _not_implemented(method: str) -> Unary:
    async def handle(_request: object, context: Context) -> Message:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"{SERVICE}/{method} is not implemented in this guardd build"
        )
        raise AssertionError  # unreachable: abort() raises

    return handle


class ServiceHandlers(Protocol):
    """A part of the Guard service: the RPCs it serves."""

    def handlers(self, errors: ErrorMapper) -> dict[str, MethodHandler]: ...


def guard_handler(errors: ErrorMapper, services: Iterable[ServiceHandlers]) -> GenericHandler:
    """The generic handler serving every ``guardd.v1.Guard`` method; those no service serves say UNIMPLEMENTED."""
    handlers: dict[str, MethodHandler] = {}
    for service in services:
        handlers.update(service.handlers(errors))
    for method in pb.DESCRIPTOR.services_by_name["Guard"].methods:
        if method.name not in handlers:
            handlers[method.name] = _unimplemented_handler(method.name, method.server_streaming)
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def _unimplemented_handler(name: str, server_streaming: bool) -> MethodHandler:  # noqa: FBT001
    if server_streaming:
        return grpc.unary_stream_rpc_method_handler(_not_implemented(name))
    return grpc.unary_unary_rpc_method_handler(_not_implemented(name))
