"""Length-prefixed pickle frames between guardd and its worker processes.

One frame is an 8-byte big-endian length and a pickle. Requests carry only
the text and a handler key (the handler itself is loaded into the worker once,
at policy build), so per-request IPC is about the size of the text.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any

_HEADER = struct.Struct(">Q")


def encode(message: object) -> bytes:
    """One frame holding ``message``."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def read_blocking(sock: socket.socket) -> Any:  # noqa: ANN401 - the peer decides the message type
    """Read one frame from a blocking socket; None at end of stream."""
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    body = _recv_exactly(sock, size)
    if body is None:
        return None
    # Only guardd's own parent process can write to this socket pair.
    return pickle.loads(body)  # noqa: S301


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return bytes(buffer)


async def read_async(reader: asyncio.StreamReader) -> Any:  # noqa: ANN401 - the peer decides the message type
    """Read one frame; ``asyncio.IncompleteReadError`` when the worker is gone."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    # Only the worker this process spawned can write to this socket pair.
    return pickle.loads(await reader.readexactly(size))  # noqa: S301
