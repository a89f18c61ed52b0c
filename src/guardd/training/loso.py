"""Leave-one-source-out: each fold model scored, as served, on the sources it never saw; thresholds chosen there.

This is the table that predicts what users see on traffic from elsewhere. The
in-source held-out table (a split of the sources trained on) only says the
model learnt its training sources; thresholds are never chosen on it.

Scores are calibrated here too: a logistic fit of the out-of-fold logits
(Platt scaling, classes weighted equally) gives the slope and offset that
``calibrate`` folds into the classifier head before export, so the shipped
model's score is a probability and the card's FPR thresholds are read off it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from guardd.training.data import Example
from guardd.training.metrics import score, threshold_at_fpr

FPR_TARGETS: Final = (0.01, 0.03, 0.05)
_CONVERGED: Final = 1e-9
Scorer = Callable[[Sequence[Example]], list[float]]
"""Probabilities of the positive class, one per whole record, as the guardrail serves the model."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """``p = sigmoid(slope * logit + offset)``, fit on out-of-fold scores."""

    slope: float
    offset: float

    def __call__(self, probability: float) -> float:
        p = min(max(probability, 1e-7), 1 - 1e-7)
        z = self.slope * math.log(p / (1 - p)) + self.offset
        return 1.0 / (1.0 + math.exp(-z))


def platt(labels: Sequence[int], probabilities: Sequence[float]) -> Calibration:
    """Slope and offset of a class-balanced logistic fit of ``labels`` on the logits.

    Newton's method with step halving: a step is taken only if it lowers the loss, so scores piled at
    0 and 1 (an over-confident model) cannot make it diverge.
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    x = np.log(p / (1 - p))
    y = np.asarray(labels, dtype=np.float64)
    weight = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum()))
    design = np.stack([x, np.ones_like(x)], axis=1)
    theta = np.array([1.0, 0.0])
    loss = _log_loss(design, y, weight, theta)
    for _ in range(100):
        q = _expit(design @ theta)
        gradient = design.T @ (weight * (q - y))
        hessian = design.T @ (design * (weight * q * (1 - q))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            candidate = theta - step
            new_loss = _log_loss(design, y, weight, candidate)
            if new_loss <= loss:
                break
            step = step / 2
        else:
            break
        theta, converged, loss = candidate, loss - new_loss < _CONVERGED, new_loss
        if converged:
            break
    return Calibration(float(theta[0]), float(theta[1]))


def _expit(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.exp(-np.logaddexp(0.0, -z))
    return out


def _log_loss(
    design: np.ndarray[Any, Any], y: np.ndarray[Any, Any], weight: np.ndarray[Any, Any], theta: np.ndarray[Any, Any]
) -> float:
    z = design @ theta
    return float((weight * (np.logaddexp(0.0, z) - y * z)).sum())


@dataclass(frozen=True, slots=True)
class FoldScores:
    """Every source's labels and out-of-fold scores."""

    labels: dict[str, list[int]]
    scores: dict[str, list[float]]

    @classmethod
    def collect(
        cls, folds: Mapping[int, tuple[Scorer, Mapping[str, Sequence[Example]]]], positive: Callable[[Example], int]
    ) -> FoldScores:
        """Score each fold's held-out sources with that fold's model; ``positive`` is what the score detects."""
        labels: dict[str, list[int]] = {}
        scores: dict[str, list[float]] = {}
        for scorer, sources in folds.values():
            for source, examples in sources.items():
                labels[source] = [positive(e) for e in examples]
                scores[source] = scorer(examples)
        return cls(labels, scores)

    def calibrated(self, calibration: Calibration) -> FoldScores:
        return FoldScores(self.labels, {k: [calibration(s) for s in v] for k, v in self.scores.items()})

    def pooled(self) -> tuple[list[int], list[float]]:
        """Every source's labels and scores together."""
        labels: list[int] = []
        scores: list[float] = []
        for source in sorted(self.labels):
            labels += self.labels[source]
            scores += self.scores[source]
        return labels, scores

    def benign_scores(self, benign_prefix: str) -> list[float]:
        return [
            s
            for source in sorted(self.labels)
            if source.startswith(benign_prefix)
            for label, s in zip(self.labels[source], self.scores[source], strict=True)
            if label == 0
        ]


def thresholds(benign: Sequence[float]) -> dict[str, float]:
    """The score that flags at most 1%, 3% and 5% of ``benign`` (the out-of-fold ordinary benign pool)."""
    return {f"{target:.0%}": threshold_at_fpr(benign, target) for target in FPR_TARGETS}


def best_bacc_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The threshold with the highest balanced accuracy on the pooled out-of-fold scores."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    candidates = np.unique(np.round(s, 4))
    bacc = [(s[y] >= t).mean() / 2 + (s[~y] < t).mean() / 2 for t in candidates]
    return round(float(candidates[int(np.argmax(bacc))]), 4)


def table(folds: FoldScores, threshold: float) -> dict[str, dict[str, Any]]:
    """Per source: the detection metrics at ``threshold`` (recall alone for one-class sources)."""
    return {
        source: score(folds.labels[source], folds.scores[source], threshold).row() for source in sorted(folds.labels)
    }


def write(path: Path, payload: Mapping[str, Any]) -> None:
    """The run's results, as the card and ``ship`` read them."""
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
