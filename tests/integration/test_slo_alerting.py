"""End to end: guardd → Prometheus (rules from `guardd rules`) → Alertmanager → a webhook, all real, on loopback.

The rules are generated with ``--window-scale 1/60`` (documented in docs/slo.md as
test-only): the 1h/5m page pair becomes 60s/5s, so a burst of bad traffic pages
within seconds. Everything else is the production rule text.
"""

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from guardd.cli import main
from guardd.v1 import guard_pb2 as pb

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BINARIES = ("prometheus", "promtool", "prometheus-alertmanager")
POLICY = """\
version: 1
policies:
  default:
    output:
      # Stands in for the hallucination model: any output with the marker is a hallucination finding.
      - {name: grounding, type: pattern, patterns: [{name: marker, regex: UNGROUNDED, category: hallucination}], on_fail: flag}
slos:
  - {name: hallucination, sli: hallucination_free, objective: 0.99, min_events: 5}
  - {name: goodput, sli: goodput, objective: 0.99, min_events: 5}
  - {name: availability, sli: availability, objective: 0.99, min_events: 5}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Webhook:
    """Alertmanager's only receiver: collects every alert it is sent."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, object]] = []
        received = self.alerts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.extend(json.loads(body)["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/alerts"

    def seen(self, status: str, **labels: str) -> bool:
        return any(
            a["status"] == status and all(a["labels"].get(k) == v for k, v in labels.items())  # type: ignore[union-attr]
            for a in list(self.alerts)
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args[0]} exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http://127.0.0.1 only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout}s")


def _start(command: list[str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    _wait_ready(ready, process)
    return process


@pytest.fixture
def stack(tmp_path, guardd) -> Iterator[tuple[object, Webhook]]:
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(
            f"!!! {', '.join(missing)} NOT INSTALLED: the SLO alerting e2e test did NOT run; `make system-deps` !!!"
        )
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    server = guardd(policy)
    assert (
        main(["rules", "--policy", str(policy), "--window-scale", str(1 / 60), "-o", str(tmp_path / "rules.yaml")]) == 0
    )
    hook = Webhook()
    am_port, prom_port = _free_port(), _free_port()
    route = {
        "receiver": "hook",
        "group_by": ["..."],
        "group_wait": "1s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    }
    receiver = {"name": "hook", "webhook_configs": [{"url": hook.url, "send_resolved": True}]}
    (tmp_path / "am.yaml").write_text(json.dumps({"route": route, "receivers": [receiver]}))
    prometheus = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yaml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "guardd", "static_configs": [{"targets": [f"127.0.0.1:{server.metrics_port}"]}]}
        ],
    }
    (tmp_path / "prometheus.yaml").write_text(json.dumps(prometheus))
    processes = []
    try:
        processes.append(
            _start(
                [
                    "prometheus-alertmanager",
                    f"--config.file={tmp_path / 'am.yaml'}",
                    f"--storage.path={tmp_path / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                f"http://127.0.0.1:{am_port}/-/ready",
                tmp_path / "alertmanager.log",
            )
        )
        processes.append(
            _start(
                [
                    "prometheus",
                    f"--config.file={tmp_path / 'prometheus.yaml'}",
                    f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                f"http://127.0.0.1:{prom_port}/-/ready",
                tmp_path / "prometheus.log",
            )
        )
        yield server, hook
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        hook.close()


def _traffic(stub, upstream: str, *, bad: bool, calls: int = 20) -> None:
    """``calls`` LLM calls as a service makes them: report the outcome, then validate the output."""
    for index in range(calls):
        request_id = str(uuid.uuid4())
        failed = bad and index % 2 == 0  # half the bad calls fail upstream; the rest hallucinate
        status = 503 if failed else 200
        stub.ReportOutcome(
            pb.ReportOutcomeRequest(request_id=request_id, upstream=upstream, status_code=status, latency_ms=80),
            timeout=10,
        )
        if not failed:
            text = "UNGROUNDED claim" if bad else "A grounded answer."
            validate = pb.ValidateRequest(request_id=request_id, stage=pb.STAGE_OUTPUT, text=text, upstream=upstream)
            stub.Validate(validate, timeout=10)


def _drive_until(stub, hook: Webhook, condition, traffic: dict[str, bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s; alerts so far: {hook.alerts}"
        for upstream, bad in traffic.items():
            _traffic(stub, upstream, bad=bad)
        time.sleep(0.2)


def test_a_budget_burn_pages_for_the_right_slo_and_upstream_and_resolves(stack):
    server, hook = stack
    stub = server.stub()
    clean = {"bad/model": False, "good/model": False}
    burning = {"bad/model": True, "good/model": False}
    # Warm-up: the counters exist at 0 and Prometheus scrapes them before the burst, so rate() sees all of it.
    warm_until = time.monotonic() + 3
    _drive_until(stub, hook, lambda: time.monotonic() >= warm_until, clean, 30)

    pages = [
        {
            "alertname": "GuarddHallucinationBudgetBurn",
            "slo": "hallucination",
            "severity": "page",
            "upstream": "bad/model",
        },
        {"alertname": "GuarddGoodputBudgetBurn", "slo": "goodput", "severity": "page", "upstream": "bad/model"},
    ]
    _drive_until(stub, hook, lambda: all(hook.seen("firing", **page) for page in pages), burning, 90)
    assert not hook.seen("firing", upstream="good/model")

    _drive_until(stub, hook, lambda: all(hook.seen("resolved", **page) for page in pages), clean, 120)
    assert not hook.seen("firing", upstream="good/model")
