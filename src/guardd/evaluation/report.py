"""Metrics per guardrail on one data file: at the served threshold, and swept over thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from guardd.evaluation.records import Record
from guardd.evaluation.scoring import Scored
from guardd.training.metrics import Scores, score, threshold_at_fpr

SWEEP: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
FPR_POINTS: Final = (0.01, 0.05)


@dataclass(frozen=True, slots=True)
class GuardrailReport:
    """One guardrail on one file: metrics where the policy flags, a sweep, and the thresholds for 1%/5% FPR."""

    name: str
    threshold: float
    served: Scores
    """Positive = the guardrail produced a finding (its own threshold and rules decide)."""
    sweep: tuple[tuple[float, Scores], ...]
    fpr_thresholds: dict[str, float | None]


def report(name: str, threshold: float, records: Sequence[Record], scored: Sequence[Scored]) -> GuardrailReport:
    """Metrics of guardrail ``name`` on ``records``; records it did not see score 0."""
    labels = [int(r.positive) for r in records]
    values = [s.scores.get(name, 0.0) for s in scored]
    flags = [1.0 if s.flagged.get(name, False) else 0.0 for s in scored]
    raw = score(labels, values, threshold)
    # What the guardrail reported decides bacc/TPR/FPR (its rules may fire below the model's threshold);
    # the threshold-free figures come from the raw scores.
    served = replace(score(labels, flags, 0.5), auc=raw.auc, tpr_at_1fpr=raw.tpr_at_1fpr, tpr_at_5fpr=raw.tpr_at_5fpr)
    sweep = tuple((t, score(labels, values, t)) for t in SWEEP)
    return GuardrailReport(name, threshold, served, sweep, _fpr_thresholds(labels, values))


def _fpr_thresholds(labels: Sequence[int], values: Sequence[float]) -> dict[str, float | None]:
    negatives = [v for y, v in zip(labels, values, strict=True) if not y]
    return {f"{t:.0%}": threshold_at_fpr(negatives, t) if negatives else None for t in FPR_POINTS}


def render(path: str, reports: Sequence[GuardrailReport], count: int, positives: int) -> str:
    """A Markdown block an SRE can paste into a change request."""
    lines = [f"## {path}: {count} records, {positives} positive", ""]
    lines += [
        "| guardrail | n | positive | threshold | bacc | TPR | FPR | AUC | threshold for 1% / 5% FPR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        s = r.served
        fpr = " / ".join("n/a" if v is None else f"{v:.4f}" for v in r.fpr_thresholds.values())
        lines.append(
            f"| {r.name} | {s.n} | {s.positives} | {r.threshold:g} | {_c(s.bacc)} | {_c(s.tpr)} | {_c(s.fpr)} | {_c(s.auc)} | {fpr} |"
        )
    for r in reports:
        lines += [
            "",
            f"{r.name}, threshold sweep on its score:",
            "",
            "| threshold | bacc | TPR | FPR |",
            "|---|---|---|---|",
        ]
        lines += [f"| {t:g} | {_c(s.bacc)} | {_c(s.tpr)} | {_c(s.fpr)} |" for t, s in r.sweep]
    return "\n".join(lines) + "\n"


def _c(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # noqa: PLR0124 - NaN check
