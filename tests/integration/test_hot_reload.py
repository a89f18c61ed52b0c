"""Hot reload: file changes, SIGHUP, ConfigMap symlink swaps, bad versions, and load during swaps."""

import signal
import threading
from pathlib import Path

import grpc
import pytest

from guardd.v1 import guard_pb2 as pb

pytestmark = pytest.mark.integration

TEMPLATE = "version: 1\npolicies:\n  default:\n    input:\n      - {{name: size, type: length, max_chars: {limit}}}\n"
TEXT = "x" * 50


def write_atomically(path: Path, content: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content)
    tmp.replace(path)


def verdict(server, text=TEXT):
    return server.stub().Validate(pb.ValidateRequest(stage=pb.STAGE_INPUT, text=text), timeout=10).verdict


def installed_after(server, mark):
    return server.wait_for_log("policy installed", after=mark)


def test_a_changed_file_is_reloaded(guardd, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(TEMPLATE.format(limit=10))
    server = guardd(policy, "--reload-interval", "0.1")
    assert verdict(server) == pb.VERDICT_BLOCK
    mark = len(server.logs)
    write_atomically(policy, TEMPLATE.format(limit=100))
    entry = installed_after(server, mark)
    assert entry["previous_version"] != entry["version"]
    assert verdict(server) == pb.VERDICT_ALLOW


def test_an_invalid_version_keeps_the_last_good_one(guardd, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(TEMPLATE.format(limit=10))
    server = guardd(policy, "--reload-interval", "0.1")
    before = server.stub().Validate(pb.ValidateRequest(stage=pb.STAGE_INPUT, text=TEXT), timeout=10)
    mark = len(server.logs)
    write_atomically(policy, TEMPLATE.format(limit=10) + "      - {name: y, type: nonsense}\n")
    rejected = server.wait_for_log("policy reload rejected; the last good policy stays in force", after=mark)
    assert any(f"{policy}:6:" in e and "unknown guardrail type 'nonsense'" in e for e in rejected["errors"])
    after = server.stub().Validate(pb.ValidateRequest(stage=pb.STAGE_INPUT, text=TEXT), timeout=10)
    assert after.policy_version == before.policy_version
    assert after.verdict == pb.VERDICT_BLOCK
    assert "guardd_policy_reload_errors_total 1.0" in server.metrics_text()


def test_sighup_reloads_at_once(guardd, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(TEMPLATE.format(limit=10))
    server = guardd(policy, "--reload-interval", "3600")
    mark = len(server.logs)
    write_atomically(policy, TEMPLATE.format(limit=100))
    server.process.send_signal(signal.SIGHUP)
    installed_after(server, mark)
    assert verdict(server) == pb.VERDICT_ALLOW


def test_a_configmap_symlink_swap_is_reloaded(guardd, tmp_path):
    # The layout kubelet writes: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>/
    mount = tmp_path / "policies"
    mount.mkdir()

    def publish(generation: int, limit: int) -> None:
        version_dir = mount / f"..2026_11_22_{generation}"
        version_dir.mkdir()
        (version_dir / "policy.yaml").write_text(TEMPLATE.format(limit=limit))
        tmp_link = mount / "..data_tmp"
        tmp_link.symlink_to(version_dir.name)
        tmp_link.replace(mount / "..data")

    publish(1, 10)
    (mount / "policy.yaml").symlink_to("..data/policy.yaml")
    server = guardd(mount, "--reload-interval", "0.1")
    assert verdict(server) == pb.VERDICT_BLOCK
    mark = len(server.logs)
    publish(2, 100)
    installed_after(server, mark)
    assert verdict(server) == pb.VERDICT_ALLOW


def test_no_rpc_fails_while_the_policy_changes_under_load(guardd, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(TEMPLATE.format(limit=10))
    server = guardd(policy, "--reload-interval", "0.05")
    stop = threading.Event()
    failures: list[grpc.RpcError] = []
    versions: set[str] = set()
    calls = [0]

    def load() -> None:
        stub = server.stub()
        while not stop.is_set():
            try:
                reply = stub.Validate(pb.ValidateRequest(stage=pb.STAGE_INPUT, text=TEXT), timeout=10)
                versions.add(reply.policy_version)
                calls[0] += 1
            except grpc.RpcError as exc:
                failures.append(exc)

    workers = [threading.Thread(target=load) for _ in range(8)]
    for worker in workers:
        worker.start()
    for round_ in range(10):
        mark = len(server.logs)
        write_atomically(policy, TEMPLATE.format(limit=10 if round_ % 2 else 100 + round_))
        installed_after(server, mark)
    stop.set()
    for worker in workers:
        worker.join(30)
    assert failures == []
    assert len(versions) >= 5
    assert calls[0] > 100
