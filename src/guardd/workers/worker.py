"""The loop each worker process runs: load handlers, then answer calls until EOF.

A handler is made once by a picklable factory sent at policy build ("load"),
then called per request ("call") with a small payload. Any exception a
handler raises goes back as an error reply; only the process dying (a crash,
an OOM kill) ends the conversation, and the parent sees that as EOF.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from guardd.workers.frames import encode, read_blocking

Handler = Callable[[Any], Any]
Factory = Callable[[], Handler]

OFFLINE_ENV = {
    # tldextract (imported by presidio) fetches the public suffix list unless this is empty.
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    # If transformers or huggingface_hub happen to be installed, they must not try a hub either.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def go_offline() -> None:
    """Make the libraries this process may import never reach for the network."""
    os.environ.update(OFFLINE_ENV)


def worker_main(sock: socket.socket) -> None:
    """Serve the parent over ``sock`` until it closes it."""
    go_offline()
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handlers: dict[str, Handler] = {}
    while (message := read_blocking(sock)) is not None:
        op, key, argument = message
        sock.sendall(encode(_answer(handlers, op, key, argument)))


def _answer(handlers: dict[str, Handler], op: str, key: str, argument: Any) -> tuple[str, Any]:  # noqa: ANN401
    try:
        value = _run(handlers, op, key, argument)
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the caller, who applies on_error
        return ("err", f"{type(exc).__name__}: {exc}")
    return ("ok", value)


def _run(handlers: dict[str, Handler], op: str, key: str, argument: Any) -> Any:  # noqa: ANN401
    if op == "load":
        if key not in handlers:
            handlers[key] = argument()
        return None
    if op == "call":
        return handlers[key](argument)
    raise ValueError(f"unknown operation {op!r}")


if __name__ == "__main__":
    # ``python -m guardd.workers.worker FD``: a fresh interpreter that imports only what handlers need
    # (multiprocessing's spawn would re-import the parent's __main__, gRPC and all).
    worker_main(socket.socket(fileno=int(sys.argv[1])))
