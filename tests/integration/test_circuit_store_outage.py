"""Redis killed mid-load and restarted: no failed Validate RPCs, local decisions meanwhile, state re-synced.

Uses a private redis-server on a free loopback port; the shared one on 6379 is never touched.
"""

import shutil
import socket
import subprocess
import threading

import pytest
import redis
from circuit_helpers import (
    ANSWER,
    REFUSAL,
    UPSTREAM,
    admit,
    circuit_policy,
    get,
    output,
    poll,
    wait_for_state,
    watching,
)

from guardd.v1 import guard_pb2 as pb

pytestmark = pytest.mark.integration


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll(self._answers)

    def _answers(self):
        try:
            return redis.Redis(port=self.port, socket_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def kill(self):
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path):
    assert shutil.which("redis-server"), "redis-server is needed (make test installs it)"
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


def store_up(server):
    return "guardd_circuit_store_up 1.0" in server.metrics_text()


def store_down(server):
    return "guardd_circuit_store_up 0.0" in server.metrics_text()


def test_redis_outage_mid_load(guardd, tmp_path, private_redis):
    path = circuit_policy(tmp_path / "policy.yaml", private_redis.url, "outage")
    first, second = guardd(path), guardd(path)
    failures, calls, stop = [], [0], threading.Event()

    def load(server):
        while not stop.is_set():
            try:
                admit(server, "other/model")
                output(server, ANSWER, "other/model")
                calls[0] += 2
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                failures.append(exc)

    threads = [threading.Thread(target=load, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    try:
        poll(lambda: calls[0] > 50)
        private_redis.kill()
        poll(lambda: store_down(first) and store_down(second))
        for _ in range(4):
            output(first, REFUSAL)
        assert get(first).state == pb.CIRCUIT_STATE_OPEN  # decided locally while Redis is away
        assert get(first).allow_request is False
        assert get(second).state == pb.CIRCUIT_STATE_CLOSED
        before = calls[0]
        poll(lambda: calls[0] > before + 50)
        with watching(second) as watch:
            private_redis.start()
            poll(lambda: store_up(first) and store_up(second))
            resynced = wait_for_state(watch, pb.CIRCUIT_STATE_OPEN)
        assert resynced.upstream == UPSTREAM
        assert redis.Redis(port=private_redis.port).hget(f"outage:c:{UPSTREAM}", "state") == b"open"
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert failures == []
    assert calls[0] > 100


def test_fail_closed_while_the_store_is_down(guardd, tmp_path, private_redis):
    path = circuit_policy(tmp_path / "policy.yaml", private_redis.url, "fc", extra=", on_store_down: fail_closed")
    server = guardd(path)
    assert admit(server).circuit.allow_request
    private_redis.kill()
    poll(lambda: store_down(server))
    circuit = admit(server).circuit
    assert (circuit.state, circuit.allow_request) == (pb.CIRCUIT_STATE_CLOSED, False)
    assert "fail_closed" in circuit.reason
    private_redis.start()
    poll(lambda: store_up(server))
    assert admit(server).circuit.allow_request
