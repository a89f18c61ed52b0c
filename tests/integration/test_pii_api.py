"""The pii guardrail through a real guardd process, its worker pool and gRPC."""

import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from guardd.v1 import guard_pb2 as pb
from guardd_harness import launch

pytestmark = pytest.mark.integration

SALT = "integration-test-salt-0123456789"
POLICY = textwrap.dedent("""\
    version: 1
    policies:
      default:
        input:
          - {name: pii, type: pii, on_fail: modify, operator: replace, processes: 2}
      mask:
        input:
          - {name: pii, type: pii, on_fail: modify, operator: mask, keep_last: 4}
      hash:
        input:
          - {name: pii, type: pii, on_fail: modify, operator: hash, salt_env: PII_IT_SALT}
      redact:
        input:
          - {name: pii, type: pii, on_fail: modify, operator: redact}
      block:
        input:
          - {name: pii, type: pii, on_fail: block, allow_list: [support@example.com]}
      chained:
        input:
          - {name: secrets, type: pattern, on_fail: modify, replacement: "[S]", patterns: [{name: key, regex: 'sk-[a-z0-9]{20}'}]}
          - {name: pii, type: pii, on_fail: modify}
      custom:
        output:
          - name: pii
            type: pii
            on_fail: flag
            entities: [EMAIL_ADDRESS]
            recognizers:
              - name: loyalty
                supported_entity: LOYALTY_CARD
                patterns: [{name: card, regex: '\\b77\\d{10}\\b', score: 0.1}]
                checksum: luhn
      big:
        input:
          - {name: pii, type: pii, on_fail: modify, timeout_ms: 60000}
    """)


def write(tmp: Path, text: str) -> Path:
    path = tmp / "policy.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    os.environ["PII_IT_SALT"] = SALT  # the server inherits it; read once at policy build
    proc = launch(write(tmp_path_factory.mktemp("pii"), POLICY))
    yield proc
    proc.stop()


def validate(server, text, policy="", stage=pb.STAGE_INPUT):
    return server.stub().Validate(pb.ValidateRequest(policy=policy, stage=stage, text=text), timeout=60)


def spans_of(response, text):
    return {(f.category, text[s.start : s.end]) for f in response.findings for s in f.spans}


TEXT = "Mail jane.doe@example.com, card 4111 1111 1111 1111, SSN 536-90-4399."


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("", "Mail <EMAIL_ADDRESS>, card <CREDIT_CARD>, SSN <US_SSN>."),
        ("mask", "Mail ****************.com, card ***************1111, SSN *******4399."),
        ("redact", "Mail , card , SSN ."),
    ],
)
def test_each_operator_redacts_and_spans_index_the_original(server, policy, expected):
    response = validate(server, TEXT, policy)
    assert response.verdict == pb.VERDICT_MODIFY
    assert response.text == expected
    assert spans_of(response, TEXT) == {
        ("EMAIL_ADDRESS", "jane.doe@example.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("US_SSN", "536-90-4399"),
    }
    assert all(f.action == pb.ACTION_MODIFY and not f.error for f in response.findings)


def test_hash_tokens_are_stable_across_requests_and_values(server):
    first = validate(server, "from a@b.com to c@d.com cc a@b.com", "hash").text
    again = validate(server, "a@b.com", "hash").text
    _, a1, _, c, _, a2 = first.split(" ")
    assert a1 == a2 == again != c
    assert a1.startswith("<EMAIL_ADDRESS:")
    assert "a@b.com" not in first


def test_hash_tokens_survive_a_restart_and_change_with_the_salt(server, tmp_path, monkeypatch):
    """Stable per deployment: another process with the same salt (a restart, a second replica) agrees."""
    policy = write(
        tmp_path,
        textwrap.dedent("""\
        version: 1
        policies:
          default:
            input:
              - {name: pii, type: pii, on_fail: modify, operator: hash, salt_env: PII_IT_SALT, processes: 1}
        """),
    )
    before = validate(server, "a@b.com", "hash").text
    tokens = []
    for salt in (SALT, SALT[::-1]):
        monkeypatch.setenv("PII_IT_SALT", salt)
        replica = launch(policy)
        try:
            tokens.append(validate(replica, "a@b.com").text)
        finally:
            replica.stop()
    assert tokens[0] == before
    assert tokens[1] != before
    assert tokens[1].startswith("<EMAIL_ADDRESS:")


def test_offsets_are_code_points_with_emoji_and_cjk(server):
    text = "顧客😀🇯🇵: メール jane@example.com 電話 +1 212 555 0199 👍🏽 end"
    response = validate(server, text)
    assert spans_of(response, text) == {("EMAIL_ADDRESS", "jane@example.com"), ("PHONE_NUMBER", "+1 212 555 0199")}
    assert response.text == "顧客😀🇯🇵: メール <EMAIL_ADDRESS> 電話 <PHONE_NUMBER> 👍🏽 end"


def test_spans_after_an_earlier_redaction_still_index_the_original(server):
    text = "key sk-abcdefghij0123456789 then mail bob@example.org"
    response = validate(server, text, "chained")
    assert response.text == "key [S] then mail <EMAIL_ADDRESS>"
    assert ("EMAIL_ADDRESS", "bob@example.org") in spans_of(response, text)


def test_block_and_the_allow_list(server):
    assert validate(server, "write to support@example.com", "block").verdict == pb.VERDICT_ALLOW
    response = validate(server, "write to support@example.com or me@home.net", "block")
    assert response.verdict == pb.VERDICT_BLOCK
    assert spans_of(response, "write to support@example.com or me@home.net") == {("EMAIL_ADDRESS", "me@home.net")}


def test_a_custom_yaml_recognizer_with_a_checksum_on_output(server):
    text = "loyalty 771234567895, not 771234567890"
    response = validate(server, text, "custom", stage=pb.STAGE_OUTPUT)
    assert response.verdict == pb.VERDICT_FLAG
    assert spans_of(response, text) == {("LOYALTY_CARD", "771234567895")}
    assert response.findings[0].score == pytest.approx(1.0)


def test_ordinary_text_is_allowed_untouched(server):
    text = "Release 3.11.7 ships on 2024-03-05; order 123456789 costs $1,234.56 for 42 seats."
    response = validate(server, text)
    assert (response.verdict, response.text, len(response.findings)) == (pb.VERDICT_ALLOW, text, 0)


def test_a_1mib_input_is_analysed_to_its_end(server):
    filler = "plain words and numbers 12345 " * 35_000
    text = ("lead a@b.com " + filler)[: 1024 * 1024 - 20] + " tail z@y.com"
    response = validate(server, text, "big")
    assert response.verdict == pb.VERDICT_MODIFY
    assert spans_of(response, text) == {("EMAIL_ADDRESS", "a@b.com"), ("EMAIL_ADDRESS", "z@y.com")}
    assert response.text.startswith("lead <EMAIL_ADDRESS> ")
    assert response.text.endswith(" tail <EMAIL_ADDRESS>")


def test_health_is_serving_only_after_the_workers_loaded(server):
    messages = [entry.get("message") for entry in server.logs]
    assert messages.index("worker started") < messages.index("policy installed") < messages.index("guardd serving")
    health = health_pb2_grpc.HealthStub(server.channel())
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING


def worker_pids(pid):
    # Workers are started from a thread, and /proc lists children under the task that forked them.
    children = [c for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return sorted(int(c) for c in children if b"guardd.workers.worker" in Path(f"/proc/{c}/cmdline").read_bytes())


def test_hot_reload_reuses_the_worker_processes(guardd, tmp_path):
    path = write(
        tmp_path, "version: 1\npolicies:\n  default:\n    input:\n      - {name: pii, type: pii, on_fail: flag}\n"
    )
    proc = guardd(path, "--reload-interval", "0.2")
    before = worker_pids(proc.process.pid)
    assert before
    seen = len(proc.logs)
    path.write_text(path.read_text().replace("on_fail: flag", "on_fail: block, allow_list: [a@b.com]"))
    proc.wait_for_log("policy installed", timeout=60, after=seen)
    assert validate(proc, "a@b.com and c@d.com").verdict == pb.VERDICT_BLOCK
    assert worker_pids(proc.process.pid) == before


CRASH_POLICY = textwrap.dedent("""\
    version: 1
    policies:
      default:
        input:
          - name: pii
            type: pii
            processes: 1
            on_fail: flag
            on_error: fail_closed
            timeout_ms: 60000
            entities: [EMAIL_ADDRESS]
            recognizers:
              - name: slow
                supported_entity: SLOW
                patterns: [{name: backtracks, regex: '(a|aa)+$', score: 0.5}]
    """)


def test_a_worker_killed_mid_request_fails_that_request_closed_and_is_replaced(guardd, tmp_path):
    proc = guardd(write(tmp_path, CRASH_POLICY))
    (worker,) = worker_pids(proc.process.pid)
    replies = []
    # Catastrophic backtracking keeps the worker busy until it is killed.
    request = threading.Thread(target=lambda: replies.append(validate(proc, "a" * 40 + "!")))
    request.start()
    while Path(f"/proc/{worker}/stat").read_text().split()[2] != "R":
        time.sleep(0.01)
    os.kill(worker, signal.SIGKILL)
    request.join(60)
    (response,) = replies
    assert response.verdict == pb.VERDICT_BLOCK
    (finding,) = response.findings
    assert finding.error
    assert "died" in finding.message
    # The replacement serves the next request; it is a new process.
    assert validate(proc, "mail x@y.com").verdict == pb.VERDICT_FLAG
    assert worker_pids(proc.process.pid) not in ([], [worker])


SITECUSTOMIZE = textwrap.dedent("""\
    import os, socket
    LOCAL = {None, "", "127.0.0.1", "::1", "localhost"}
    _connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
    def _refuse(what):
        with open(os.environ["NETWORK_ATTEMPTS"], "a") as log:
            log.write(f"{os.getpid()} {what!r}\\n")
        raise OSError("network disabled by test")
    def connect(sock, address):
        if sock.family == socket.AF_UNIX or address[0] in LOCAL:
            return _connect(sock, address)
        _refuse(address)
    def getaddrinfo(host, *args, **kwargs):
        if host in LOCAL:  # guardd binds its own ports on loopback
            return _getaddrinfo(host, *args, **kwargs)
        _refuse(host)
    socket.socket.connect = connect
    socket.create_connection = lambda address, *a, **k: _refuse(address)
    socket.getaddrinfo = getaddrinfo
    """)


def test_guardd_and_its_workers_never_touch_the_network(guardd, tmp_path, monkeypatch):
    # sitecustomize runs first in guardd and in every spawned worker, before presidio is imported.
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    attempts = tmp_path / "attempts.log"
    monkeypatch.setenv("NETWORK_ATTEMPTS", str(attempts))
    # An empty tldextract cache: a cached suffix list from an earlier run would hide a fetch.
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "tldextract-cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    policy = "version: 1\npolicies:\n  default:\n    input:\n      - {name: pii, type: pii, on_fail: flag, entities: [EMAIL_ADDRESS, URL]}\n"
    proc = guardd(write(tmp_path, policy))
    text = "see https://example.org/a or a@b.co"
    assert {("URL", "https://example.org/a"), ("EMAIL_ADDRESS", "a@b.co")} <= spans_of(validate(proc, text), text)
    assert worker_pids(proc.process.pid)
    assert not attempts.exists(), attempts.read_text()
