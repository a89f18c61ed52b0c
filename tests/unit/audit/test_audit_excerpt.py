"""The opt-in redacted excerpt: presidio in a real worker process, written into the hash chain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from guardd.audit.chain import verify
from guardd.audit.cli import audit_settings
from guardd.audit.excerpt import ANALYZER, LOOKAHEAD_CHARS, redacted_prefix, window
from guardd.audit.excerpter import PooledExcerpter
from guardd.audit.record import AuditEntry, Excerpt
from guardd.audit.writer import EXCERPT_BACKLOG, AuditLog, AuditSettings
from guardd.cli import _parser
from guardd.guardrails.pii_engine import PiiAnalyzer
from guardd.guardrails.pii_redact import Redactor, RedactSpec
from guardd.pipeline.decision import Decision
from guardd.policy.loader import load_policy
from guardd.workers.pool import WorkerPool

ROOT = Path(__file__).resolve().parents[3]
POLICIES = load_policy(ROOT / "policies/default.yaml")
PII_TEXT = "Refund for jane.doe@example.com, call (212) 555-0199 today. Order notes: SECRET-TAIL-7f3 gift wrap"
RAW_VALUES = ("jane.doe", "example.com", "555-0199", "(212)", "SECRET-TAIL")
"""What must never reach the file (no short digit runs: hashes are hex and would match by chance)."""
LIMIT = 59  # ends at "today."


def entry(request_id: str, text: str = PII_TEXT) -> AuditEntry:
    decision = Decision("allow", text, (), ())
    return AuditEntry(1_700_000_000.5, request_id, "default", "input", "acme/m", POLICIES, decision, text)


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def settings(tmp_path: Path, queue_size: int = 1024) -> AuditSettings:
    salt = tmp_path / "salt"
    salt.write_bytes(b"salt")
    return AuditSettings(tmp_path / "audit.jsonl", queue_size, salt, excerpt_chars=LIMIT)


@pytest.fixture(scope="module")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer.build(ANALYZER)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (PII_TEXT, LIMIT, "Refund for <EMAIL_ADDRESS>, call <PHONE_NUMBER> today."),
        # The cut falls inside the e-mail address: it is replaced whole, and nothing after it is kept.
        (PII_TEXT, 20, "Refund for <EMAIL_ADDRESS>"),
        (PII_TEXT, 6, "Refund"),
        ("Server at 10.1.2.3 sends from 4111 1111 1111 1111", 200, "Server at <IP_ADDRESS> sends from <CREDIT_CARD>"),
        ("Nothing personal here, only a long enough sentence.", 16, "Nothing personal"),
        ("", LIMIT, ""),
    ],
    ids=["email-and-phone", "cut-inside-a-value", "cut-before-any", "ip-and-card", "no-pii", "empty"],
)
def test_the_excerpt_is_the_redacted_opening(analyzer, text, limit, expected):
    seen = window(text, limit)
    assert len(seen) <= limit + LOOKAHEAD_CHARS
    assert redacted_prefix(seen, analyzer(seen), limit, Redactor(RedactSpec("replace"))) == expected


async def _write_with_worker(path_settings: AuditSettings, registry: CollectorRegistry, *texts: str) -> None:
    excerpts = PooledExcerpter(WorkerPool(processes=1), LIMIT)
    await excerpts.start()
    try:
        log = AuditLog(path_settings, registry, excerpts)
        log.open()
        for i, text in enumerate(texts):
            log.record(entry(f"r{i}", text))
        await asyncio.to_thread(log.close)  # the writer reaches the worker through this (free) loop
    finally:
        await excerpts.close()


def test_records_carry_a_redacted_truncated_excerpt_inside_the_chain(tmp_path):
    config = settings(tmp_path)
    registry = CollectorRegistry()
    asyncio.run(_write_with_worker(config, registry, PII_TEXT, "Short and clean."))
    first, second = records(config.path)
    assert first["excerpt"] == "Refund for <EMAIL_ADDRESS>, call <PHONE_NUMBER> today."
    assert second["excerpt"] == "Short and clean."
    assert "excerpt_omitted" not in first
    raw = config.path.read_text()
    assert [value for value in RAW_VALUES if value in raw] == []
    assert verify(config.path).ok
    assert registry.get_sample_value("guardd_audit_excerpts_omitted_total", {"reason": "failed"}) == 0
    # The hash covers the excerpt: editing it breaks the chain.
    config.path.write_text(raw.replace("<PHONE_NUMBER>", "<REDACTED>"))
    problem = verify(config.path).problem
    assert problem is not None
    assert problem.startswith("line 1: 'hash'")


def test_a_dead_worker_leaves_the_reason_never_the_text(tmp_path):
    async def scenario() -> tuple[Excerpt, Excerpt]:
        pool = WorkerPool(processes=1)
        excerpts = PooledExcerpter(pool, LIMIT, timeout_s=60)
        await excerpts.start()
        try:
            (pid,) = pool.pids
            os.kill(pid, signal.SIGKILL)
            failed = await asyncio.to_thread(excerpts, PII_TEXT)
            # The pool replaces the worker (and loads the analyzer into it); the next excerpt waits for it.
            recovered = await asyncio.to_thread(excerpts, PII_TEXT)
            assert pool.pids not in ((), (pid,))
            return failed, recovered
        finally:
            await excerpts.close()

    failed, recovered = asyncio.run(scenario())
    assert failed == Excerpt(omitted="failed")
    assert failed.fields() == {"excerpt_omitted": "failed"}
    assert recovered.text == "Refund for <EMAIL_ADDRESS>, call <PHONE_NUMBER> today."


def test_an_excerpter_that_was_never_started_is_unavailable():
    excerpts = PooledExcerpter(WorkerPool(processes=1), LIMIT)
    assert excerpts(PII_TEXT) == Excerpt(omitted="unavailable")


class GatedExcerpter:
    """A fake excerpter that answers only once the test opens the gate, and counts its calls."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, text: str) -> Excerpt:
        self.gate.wait(30)
        self.calls += 1
        return Excerpt(text=f"<{len(text)} chars>")


def test_a_backlog_skips_excerpts_instead_of_dropping_records(tmp_path):
    config = settings(tmp_path)
    registry = CollectorRegistry()
    excerpts = GatedExcerpter()
    log = AuditLog(config, registry, excerpts)
    total = EXCERPT_BACKLOG + 50
    for i in range(total):  # the writer is not started yet: everything waits in the queue
        log.record(entry(f"r{i}"))
    log.open()
    excerpts.gate.set()
    log.close()
    written = records(config.path)
    assert len(written) == total
    assert registry.get_sample_value("guardd_audit_dropped_records_total") == 0
    skipped = [r for r in written if r.get("excerpt_omitted") == "backlog"]
    assert written[0] in skipped
    assert written[-1]["excerpt"] == f"<{len(PII_TEXT)} chars>"
    assert len(skipped) + excerpts.calls == total
    assert 45 <= len(skipped) <= 51  # until the queue is back under the backlog limit (± the close marker)
    assert registry.get_sample_value("guardd_audit_excerpts_omitted_total", {"reason": "backlog"}) == len(skipped)
    assert verify(config.path).ok


def test_the_writer_does_not_wait_for_a_slow_excerpt_to_accept_records(tmp_path):
    config = settings(tmp_path)
    excerpts = GatedExcerpter()
    log = AuditLog(config, CollectorRegistry(), excerpts)
    log.open()
    started = time.monotonic()
    for i in range(100):
        log.record(entry(f"r{i}"))
    assert time.monotonic() - started < 1.0  # record() is a queue append, whatever the excerpter is doing
    excerpts.gate.set()
    log.close()
    assert len(records(config.path)) == 100


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--audit-excerpt-chars", "80"], "--audit-excerpt-chars needs --audit-log"),
        (["--audit-log", "-", "--audit-excerpt-chars", "-1"], "between 0 and 4096"),
        (["--audit-log", "-", "--audit-excerpt-chars", "5000"], "between 0 and 4096"),
    ],
    ids=["without-log", "negative", "too-long"],
)
def test_bad_excerpt_flags_stop_guardd_at_start(flags, error):
    args = _parser().parse_args(["serve", "--policy", "p.yaml", *flags])
    with pytest.raises(SystemExit, match=error):
        audit_settings(args)


def test_the_excerpt_flag_reaches_the_settings():
    args = _parser().parse_args(["serve", "--policy", "p.yaml", "--audit-log", "-", "--audit-excerpt-chars", "80"])
    assert audit_settings(args) == AuditSettings(Path("-"), 65536, None, 80)
