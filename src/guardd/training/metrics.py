"""Detection metrics with the definitions ``shared/tools/eval_quality.py`` and the targets use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Scores:
    """Metrics of one model on one data set at one threshold; NaN where undefined (one class only)."""

    n: int
    positives: int
    bacc: float
    tpr: float
    fpr: float
    f1: float
    auc: float
    tpr_at_1fpr: float
    tpr_at_5fpr: float

    def row(self) -> dict[str, Any]:
        """Rounded, for JSON and tables."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def score(labels: Sequence[int], probabilities: Sequence[float], threshold: float) -> Scores:
    """Balanced accuracy, TPR/FPR, F1 at ``threshold``; AUC and TPR at 1%/5% FPR from the scores."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(probabilities, dtype=np.float64)
    flagged = s >= threshold
    tp, fn = int((y & flagged).sum()), int((y & ~flagged).sum())
    fp, tn = int((~y & flagged).sum()), int((~y & ~flagged).sum())
    nan = float("nan")
    tpr = tp / (tp + fn) if tp + fn else nan
    fpr = fp / (fp + tn) if fp + tn else nan
    bacc = (tpr + 1 - fpr) / 2 if tp + fn and fp + tn else nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    both = bool(y.any() and (~y).any())
    return Scores(
        n=len(y),
        positives=int(y.sum()),
        bacc=bacc,
        tpr=tpr,
        fpr=fpr,
        f1=f1,
        auc=auc(y, s) if both else nan,
        tpr_at_1fpr=tpr_at_fpr(y, s, 0.01) if both else nan,
        tpr_at_5fpr=tpr_at_fpr(y, s, 0.05) if both else nan,
    )


def auc(y: np.ndarray[Any, Any], s: np.ndarray[Any, Any]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = s[y], s[~y]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def tpr_at_fpr(y: np.ndarray[Any, Any], s: np.ndarray[Any, Any], max_fpr: float) -> float:
    """The best TPR of any threshold whose FPR stays at or below ``max_fpr``."""
    neg = np.sort(s[~y])[::-1]
    allowed = int(np.floor(max_fpr * len(neg)))
    # Strictly above the (allowed+1)-th highest negative score keeps at most `allowed` false positives.
    cut = neg[allowed] if allowed < len(neg) else -np.inf
    return float((s[y] > cut).mean())


def threshold_at_fpr(negatives: Sequence[float], max_fpr: float) -> float:
    """The smallest threshold (score >= it flags) that lets at most ``max_fpr`` of ``negatives`` through."""
    values = np.sort(np.asarray(negatives, dtype=np.float64))
    # Just above the (1 - max_fpr) quantile's record: only the records past it reach the threshold.
    index = min(len(values) - 1, math.floor((1 - max_fpr) * len(values)))
    return round(float(np.nextafter(values[index], 1.0)), 4)
