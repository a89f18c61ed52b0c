"""What one Validate contributes to the decision log, and its JSON form (built in the writer thread)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from guardd.pipeline.decision import Decision, Finding
from guardd.policy.model import PolicySet


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decided Validate, as the hot path hands it over: references only, no formatting."""

    time: float
    request_id: str
    policy: str
    stage: str
    upstream: str
    policies: PolicySet
    decision: Decision
    text: str


OmitReason = Literal["backlog", "timeout", "failed", "unavailable"]
OMIT_REASONS: tuple[OmitReason, ...] = ("backlog", "timeout", "failed", "unavailable")


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A record's redacted excerpt of its text, or why it has none (never the raw text instead)."""

    text: str | None = None
    omitted: OmitReason | None = None

    def fields(self) -> dict[str, str]:
        """The record's JSON fields: ``excerpt``, or ``excerpt_omitted`` with the reason."""
        if self.text is not None:
            return {"excerpt": self.text}
        return {"excerpt_omitted": self.omitted or "failed"}


class Excerpter(Protocol):
    """Makes one record's excerpt in the writer thread: may block, never raises."""

    def __call__(self, text: str) -> Excerpt:
        """The excerpt of ``text``, or the reason there is none."""
        ...


def text_digest(salt: bytes, text: str) -> str:
    """HMAC-SHA256 of the text under the salt: equal texts match in one log, but cannot be guessed back."""
    return hmac.new(salt, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _finding(finding: Finding) -> dict[str, Any]:
    # No message: a guardrail's message may quote what it matched, and the log holds no text.
    return {
        "guardrail": finding.guardrail,
        "category": finding.category,
        "score": round(finding.score, 6),
        "action": finding.action,
        "spans": [[span.start, span.end] for span in finding.spans],
        "error": finding.error,
    }


def to_record(entry: AuditEntry, salt: bytes, models: dict[str, str]) -> dict[str, Any]:
    """The JSON fields of one record (without ``seq``, ``prev`` and ``hash``, added when it is chained)."""
    return {
        "time": datetime.fromtimestamp(entry.time, UTC).isoformat(timespec="milliseconds"),
        "request_id": entry.request_id,
        "policy": entry.policy,
        "stage": entry.stage,
        "upstream": entry.upstream,
        "policy_version": entry.policies.version,
        "models": models,
        "verdict": entry.decision.verdict,
        "findings": [_finding(f) for f in entry.decision.findings],
        "skipped": list(entry.decision.skipped),
        "text_hmac": text_digest(salt, entry.text),
        "text_chars": len(entry.text),
    }


_VERSIONS_KEPT = 4
"""Old versions only live through a reload's in-flight requests."""


class ModelDigests:
    """SHA-256 of each model of a policy version: pinned in the policy, else read from the file once."""

    def __init__(self) -> None:
        self._by_version: dict[str, dict[str, str]] = {}

    def of(self, policies: PolicySet) -> dict[str, str]:
        digests = self._by_version.get(policies.version)
        if digests is None:
            digests = {name: self._digest(policies, name) for name in sorted(policies.models)}
            if len(self._by_version) >= _VERSIONS_KEPT:
                self._by_version.clear()
            self._by_version[policies.version] = digests
        return digests

    @staticmethod
    def _digest(policies: PolicySet, name: str) -> str:
        config = policies.models[name]
        if config.sha256 is not None:
            return config.sha256
        try:
            with (policies.base_dir / config.path).open("rb") as file:
                return hashlib.file_digest(file, "sha256").hexdigest()
        except OSError:
            return "unreadable"
