"""The Guard generic handler: a method no service serves answers UNIMPLEMENTED, not INTERNAL.

(Every RPC has a service in guardd now, so this is checked on a handler built
with none; it was an integration test while ReportOutcome was unserved.)
"""

import asyncio

import grpc
import pytest
from prometheus_client import CollectorRegistry

from guardd.api.handlers import ErrorMapper, guard_handler
from guardd.telemetry.metrics import Metrics
from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc


async def _report_outcome_on_a_bare_handler() -> grpc.aio.AioRpcError:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((guard_handler(ErrorMapper(Metrics(CollectorRegistry())), []),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await guard_pb2_grpc.GuardStub(channel).ReportOutcome(pb.ReportOutcomeRequest(upstream="x"), timeout=10)
            return caught.value
    finally:
        await server.stop(None)


def test_unimplemented_rpcs_say_so():
    error = asyncio.run(_report_outcome_on_a_bare_handler())
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "guardd.v1.Guard/ReportOutcome is not implemented" in (error.details() or "")
