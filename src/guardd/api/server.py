"""The grpc.aio server: Guard, health and reflection on one port."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from guardd.api.handlers import SERVICE, GenericHandler
from guardd.security.tls import TlsSettings, server_credentials

OVERALL = ""


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
    address = f"{settings.host}:{settings.port}"
    if settings.tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, server_credentials(settings.tls))
    if port == 0:
        raise OSError(f"cannot bind gRPC port {settings.host}:{settings.port}")
    return server, port
