"""TLS and mTLS on the gRPC port, certificates reloaded on change, and the admin check on SetCircuitOverride."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc
from guardd_harness import ROOT
from tls_certs import CertificateAuthority

pytestmark = pytest.mark.integration

POLICY = ROOT / "policies/default.yaml"
HELLO = pb.ValidateRequest(stage=pb.STAGE_INPUT, text="What is the capital of France?")
OVERRIDE = pb.SetCircuitOverrideRequest(upstream="acme/model-1", override=pb.OVERRIDE_NONE, reason="test")


class Pki:
    """A CA plus server files on disk, and client credentials on demand."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True)
        self.ca = CertificateAuthority()
        self.ca_file = self.ca.write(directory / "ca.crt")
        self.cert, self.key = self.ca.issue("guardd-server", server=True).write(directory, "server")

    def flags(self, *, mutual: bool = False) -> list[str]:
        flags = ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]
        return [*flags, "--tls-client-ca", str(self.ca_file)] if mutual else flags

    def client(self, common_name: str | None = None, trust: bytes | None = None) -> grpc.ChannelCredentials:
        if common_name is None:
            return grpc.ssl_channel_credentials(trust or self.ca.pem)
        issued = self.ca.issue(common_name)
        return grpc.ssl_channel_credentials(trust or self.ca.pem, issued.key, issued.cert)


def stub(target: str, creds: grpc.ChannelCredentials | None) -> guard_pb2_grpc.GuardStub:
    channel = grpc.insecure_channel(target) if creds is None else grpc.secure_channel(target, creds)
    return guard_pb2_grpc.GuardStub(channel)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def test_tls_serves_tls_clients_and_refuses_plaintext(guardd, pki):
    server = guardd(POLICY, *pki.flags())
    assert stub(server.target, pki.client()).Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    with pytest.raises(grpc.RpcError) as caught:
        stub(server.target, None).Validate(HELLO, timeout=3)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_requires_a_client_certificate_from_the_ca(guardd, pki):
    server = guardd(POLICY, *pki.flags(mutual=True))
    assert stub(server.target, pki.client("app")).Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    stranger = CertificateAuthority().issue("stranger")
    for creds in (pki.client(), grpc.ssl_channel_credentials(pki.ca.pem, stranger.key, stranger.cert)):
        with pytest.raises(grpc.RpcError) as caught:
            stub(server.target, creds).Validate(HELLO, timeout=3)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_rotated_certificate_is_served_without_a_restart_and_a_bad_one_is_refused(guardd, pki):
    server = guardd(POLICY, *pki.flags())
    old_ca = pki.ca.pem
    pki.key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    # A broken rotation keeps the old pair in force: new connections still work.
    assert stub(server.target, pki.client(trust=old_ca)).Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    server.wait_for_log("new TLS files rejected; the previous certificate stays in force")

    new_ca = CertificateAuthority("rotated-ca")
    issued = new_ca.issue("guardd-server", server=True)
    pki.key.write_bytes(issued.key)
    pki.cert.write_bytes(issued.cert)
    os.utime(pki.cert)  # same-second writes still change the fingerprint (size or mtime_ns)
    assert stub(server.target, pki.client(trust=new_ca.pem)).Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    server.wait_for_log("TLS certificate reloaded")
    with pytest.raises(grpc.RpcError):
        stub(server.target, pki.client(trust=old_ca)).Validate(HELLO, timeout=3)


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
LIST_SERVICES = reflection_pb2.ServerReflectionRequest(list_services="")


def test_the_health_port_answers_plaintext_probes_in_step_and_serves_nothing_else(guardd, pki):
    server = guardd(POLICY, *pki.flags(), "--health-port", "0", "--grace", "3")
    health_target = f"127.0.0.1:{server.wait_for_log('guardd serving')['health_port']}"
    probe = health_pb2_grpc.HealthStub(grpc.insecure_channel(health_target))
    for service in ("", "guardd.v1.Guard"):
        assert probe.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == SERVING
    # The gRPC port still speaks TLS only, health included.
    with pytest.raises(grpc.RpcError) as caught:
        health_pb2_grpc.HealthStub(grpc.insecure_channel(server.target)).Check(
            health_pb2.HealthCheckRequest(), timeout=3
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    # Nothing but health on the health port: no Guard RPC, no reflection.
    reflection = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(health_target))
    for call in (
        lambda: stub(health_target, None).Validate(HELLO, timeout=10),
        lambda: stub(health_target, None).GetCircuit(pb.GetCircuitRequest(upstream="acme/model-1"), timeout=10),
        lambda: list(reflection.ServerReflectionInfo(iter([LIST_SERVICES]), timeout=10)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED

    # In step: a watcher on each port sees SERVING, then NOT_SERVING as soon as guardd starts draining.
    tls_health = health_pb2_grpc.HealthStub(grpc.secure_channel(server.target, pki.client()))
    watches = [
        h.Watch(health_pb2.HealthCheckRequest(service="guardd.v1.Guard"), timeout=30) for h in (tls_health, probe)
    ]
    assert [next(w).status for w in watches] == [SERVING, SERVING]
    server.process.send_signal(signal.SIGTERM)
    assert [next(w).status for w in watches] == [NOT_SERVING, NOT_SERVING]
    assert server.process.wait(30) == 0


def test_a_bad_tls_path_fails_at_start_with_a_message(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    command = [sys.executable, "-m", "guardd.cli", "serve", "--policy", str(POLICY), "--grpc-port", "0"]
    command += ["--no-metrics", "--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(tmp_path / "k")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "cannot load the TLS files" in result.stderr


def test_admin_token_guards_set_circuit_override(guardd, tmp_path):
    token = tmp_path / "admin-token"
    token.write_text("s3cret-token\n")
    server = guardd(POLICY, "--admin-token-file", str(token))
    guard = server.stub()
    cases = [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer wrong"),), grpc.StatusCode.PERMISSION_DENIED),
    ]
    for metadata, code in cases:
        with pytest.raises(grpc.RpcError) as caught:
            guard.SetCircuitOverride(OVERRIDE, metadata=metadata, timeout=10)
        assert caught.value.code() == code
        assert caught.value.details()
    ok = guard.SetCircuitOverride(OVERRIDE, metadata=(("authorization", "Bearer s3cret-token"),), timeout=10)
    assert ok.circuit.upstream == "acme/model-1"
    # Reads stay open to every caller.
    assert guard.GetCircuit(pb.GetCircuitRequest(upstream="acme/model-1"), timeout=10).circuit.allow_request
    # A rotated secret takes effect without a restart.
    token.write_text("rotated-token\n")
    with pytest.raises(grpc.RpcError) as caught:
        guard.SetCircuitOverride(OVERRIDE, metadata=(("authorization", "Bearer s3cret-token"),), timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    guard.SetCircuitOverride(OVERRIDE, metadata=(("authorization", "Bearer rotated-token"),), timeout=10)


def test_admin_identity_admits_only_listed_client_certificates(guardd, pki):
    server = guardd(POLICY, *pki.flags(mutual=True), "--admin-identity", "ops-admin")
    admin = stub(server.target, pki.client("ops-admin"))
    assert admin.SetCircuitOverride(OVERRIDE, timeout=10).circuit.upstream == "acme/model-1"
    app = stub(server.target, pki.client("checkout-service"))
    assert app.Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    with pytest.raises(grpc.RpcError) as caught:
        app.SetCircuitOverride(OVERRIDE, timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_messages_over_the_size_limit_are_refused(guardd):
    server = guardd(POLICY, "--max-message-bytes", "4096")
    guard = server.stub()
    assert guard.Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW
    with pytest.raises(grpc.RpcError) as caught:
        guard.Validate(pb.ValidateRequest(stage=pb.STAGE_INPUT, text="x" * 8192), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_max_concurrent_streams_holds_a_second_call_on_one_connection(guardd):
    server = guardd(POLICY, "--max-concurrent-streams", "1")
    channel = server.channel()
    guard = guard_pb2_grpc.GuardStub(channel)
    release = threading.Event()

    def requests():
        yield pb.ValidateStreamRequest(request=pb.ValidateRequest(stage=pb.STAGE_OUTPUT), text_chunk="Hello")
        release.wait(30)  # keep the stream open (no half-close) until the test is done

    held = guard.ValidateStream(requests(), timeout=30)
    next(held)  # the stream is open and holds the connection's only slot
    with pytest.raises(grpc.RpcError) as caught:
        guard.Validate(HELLO, timeout=2)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    release.set()
    list(held)
    assert guard.Validate(HELLO, timeout=10).verdict == pb.VERDICT_ALLOW


def test_metrics_bind_where_configured(guardd):
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    server = guardd(POLICY, "--metrics-host", "127.0.0.2")
    with urllib.request.urlopen(f"http://127.0.0.2:{server.metrics_port}/metrics", timeout=5) as response:
        assert b"guardd_event_loop_lag_seconds" in response.read()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5)
