"""The grpc.aio servers: Guard, health and reflection on the gRPC port; health alone on the health port.

The health port exists because the kubelet's gRPC probes speak plaintext
only: with TLS on the gRPC port they cannot reach it. The health port is a
second server with nothing but ``grpc.health.v1`` registered, sharing the
one ``HealthServicer``, so both ports report the same status at every moment
and any other RPC there is UNIMPLEMENTED.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from guardd.api.handlers import SERVICE, GenericHandler
from guardd.security.tls import TlsSettings, server_credentials

OVERALL = ""
HEALTH_MAX_MESSAGE_BYTES = 4096
"""A HealthCheckRequest is a service name; nothing larger has any business on the plaintext port."""
HEALTH_MAX_RPCS = 64
"""Watch streams stay open: bound what an unauthenticated caller can hold there."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Process settings for the gRPC port; changing them needs a restart."""

    host: str = "127.0.0.1"
    port: int = 50051
    max_message_bytes: int = 8 * 1024 * 1024
    max_concurrent_rpcs: int | None = None
    max_concurrent_streams: int | None = None
    """HTTP/2 streams one connection may have open at once (grpc's default when None)."""
    tls: TlsSettings | None = None
    """Serve TLS (mTLS with a client CA) instead of plaintext; the files are reloaded on change."""
    health_port: int | None = None
    """A plaintext port serving grpc.health.v1 only, for probes that cannot speak TLS; None: none."""
    health_host: str | None = None
    """Where the health port binds; None: ``host``."""


class Health:
    """grpc.health.v1 for the whole server and for ``guardd.v1.Guard``."""

    def __init__(self) -> None:
        self.servicer = HealthServicer()

    async def set(self, *, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in (OVERALL, SERVICE):
            await self.servicer.set(name, status)


def build_server(settings: ServerSettings, handler: GenericHandler, health: Health) -> tuple[grpc.aio.Server, int]:
    """Create the server and bind it; returns the server and the port actually bound."""
    options: list[tuple[str, int]] = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    if settings.max_concurrent_streams is not None:
        options.append(("grpc.max_concurrent_streams", settings.max_concurrent_streams))
    server = grpc.aio.server(
        options=options,
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    server.add_generic_rpc_handlers((handler,))
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    reflection.enable_server_reflection(
        (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server
    )
    return server, _bind(server, settings.host, settings.port, settings.tls)


def build_health_server(host: str, port: int, health: Health) -> tuple[grpc.aio.Server, int]:
    """The plaintext health-only server, bound; returns it and the port actually bound."""
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", HEALTH_MAX_MESSAGE_BYTES), ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=HEALTH_MAX_RPCS,
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    return server, _bind(server, host, port, None, what="health")


def _bind(server: grpc.aio.Server, host: str, port: int, tls: TlsSettings | None, *, what: str = "gRPC") -> int:
    address = f"{host}:{port}"
    bound = (
        server.add_insecure_port(address) if tls is None else server.add_secure_port(address, server_credentials(tls))
    )
    if bound == 0:
        raise OSError(f"cannot bind {what} port {address}")
    return bound
