"""The chart's TLS, health-port and admin settings, rendered by real Helm, started as a real guardd.

The sidecar's rendered arguments and env are what the kubelet would run; only the mount paths (rendered
into temporary directories) and the ports (0 here: no fixed ports in tests) differ from a pod's.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helm_render import render_app

from guardd.v1 import guard_pb2 as pb
from guardd.v1 import guard_pb2_grpc
from tls_certs import CertificateAuthority

pytestmark = pytest.mark.integration

POLICY = "version: 1\npolicies:\n  default:\n    input: [{name: length, type: length, max_chars: 10000}]\n"
TOKEN = "chart-admin-token"  # noqa: S105 - a test secret
PORT_FLAGS = ("--host=", "--grpc-port=", "--metrics-port=", "--health-port=")
OVERRIDE = pb.SetCircuitOverrideRequest(upstream="acme/model-1", override=pb.OVERRIDE_NONE, reason="test")


def _sidecar(tmp_path: Any) -> tuple[dict[str, Any], CertificateAuthority]:
    ca = CertificateAuthority()
    tls_dir, policy_dir = tmp_path / "tls", tmp_path / "policy"
    ca.issue("guardd", server=True).write(tls_dir, "tls")
    ca.write(tls_dir / "ca.crt")
    policy_dir.mkdir()
    (policy_dir / "default.yaml").write_text(POLICY)
    values = {
        "policy": {"mountPath": str(policy_dir), "files": {"default.yaml": POLICY}},
        "tls": {"enabled": True, "secretName": "guardd-tls", "clientAuth": True, "mountPath": str(tls_dir)},
        "admin": {"tokenSecret": {"name": "guardd-admin", "key": "token"}},
    }
    pod = render_app({"guardd": values}).one("Deployment")["spec"]["template"]["spec"]
    (container,) = [c for c in pod["initContainers"] if c["name"] == "guardd"]
    return container, ca


def test_a_sidecar_rendered_with_tls_serves_mtls_answers_plaintext_probes_and_checks_the_admin(
    guardd, tmp_path, monkeypatch
):
    container, ca = _sidecar(tmp_path)
    args = container["args"]
    assert args[0] == "serve"
    # The kubelet's probe targets the port guardd serves plaintext health on.
    probe_port = container["startupProbe"]["grpc"]["port"]
    assert f"--health-port={probe_port}" in args
    env = {e["name"] for e in container["env"]}
    assert "GUARDD_ADMIN_TOKEN" in env
    monkeypatch.setenv("GUARDD_ADMIN_TOKEN", TOKEN)  # what the kubelet fills in from the Secret

    rest = [a for a in args[1:] if not a.startswith(("--policy=", *PORT_FLAGS))]
    policy = next(a for a in args if a.startswith("--policy=")).removeprefix("--policy=")
    server = guardd(policy, *rest, "--health-port", "0")
    health_port = server.wait_for_log("guardd serving")["health_port"]

    probe = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{health_port}"))
    service = container["readinessProbe"]["grpc"]["service"]
    assert probe.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    client = ca.issue("llm-app")
    creds = grpc.ssl_channel_credentials(ca.pem, client.key, client.cert)
    guard = guard_pb2_grpc.GuardStub(grpc.secure_channel(server.target, creds))
    hello = pb.ValidateRequest(stage=pb.STAGE_INPUT, text="hello")
    assert guard.Validate(hello, timeout=10).verdict == pb.VERDICT_ALLOW
    with pytest.raises(grpc.RpcError) as caught:
        guard.SetCircuitOverride(OVERRIDE, timeout=10)
    # The client certificate is a credential, just not an admin one.
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    admitted = guard.SetCircuitOverride(OVERRIDE, metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=10)
    assert admitted.circuit.upstream == "acme/model-1"
    # Without a client certificate the mTLS port refuses the handshake.
    with pytest.raises(grpc.RpcError) as caught:
        guard_pb2_grpc.GuardStub(grpc.secure_channel(server.target, grpc.ssl_channel_credentials(ca.pem))).Validate(
            hello, timeout=3
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
