"""A bare grpc.aio + uvloop server for guardd.v1.Guard/Validate that echoes the text back.

The floor guardd's overhead is measured against: same messages, same
serialisation, no guardrails, no metrics.
"""

from __future__ import annotations

import argparse
import sys

import grpc
import uvloop

from guardd.v1 import guard_pb2 as pb


async def validate(request: pb.ValidateRequest, _context: grpc.aio.ServicerContext) -> pb.ValidateResponse:
    return pb.ValidateResponse(request_id=request.request_id, verdict=pb.VERDICT_ALLOW, text=request.text)


async def serve(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        validate,
        request_deserializer=pb.ValidateRequest.FromString,
        response_serializer=pb.ValidateResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("guardd.v1.Guard", {"Validate": handler}),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(bound, flush=True)
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    sys.exit(main())
