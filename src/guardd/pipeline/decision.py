"""What the pipeline concludes about one text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from guardd.guardrails.base import Span

Verdict = Literal["allow", "flag", "modify", "block"]
Action = Literal["block", "modify", "flag", "fail_open", "fail_closed"]

# A modified text must reach the caller even when something else only flagged.
VERDICT_RANK: dict[Verdict, int] = {"allow": 0, "flag": 1, "modify": 2, "block": 3}
ACTION_VERDICT: dict[Action, Verdict] = {
    "block": "block",
    "modify": "modify",
    "flag": "flag",
    "fail_open": "allow",
    "fail_closed": "block",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection or failure, as reported to the caller."""

    guardrail: str
    category: str
    score: float
    action: Action
    message: str
    spans: tuple[Span, ...] = ()
    error: bool = False
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one text, the text to pass on, and why."""

    verdict: Verdict
    text: str
    findings: tuple[Finding, ...]
    skipped: tuple[str, ...]
