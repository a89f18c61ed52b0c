"""Leave-one-source-out helpers: calibration, FPR thresholds, the best balanced-accuracy threshold."""

import math

import pytest

from guardd.training import loso


def test_platt_scaling_recovers_a_known_slope_and_offset():
    # Scores whose true log-odds are 2 x logit(p) - 1: the fit must find (2, -1) from balanced labels.
    grid = [i / 100 for i in range(1, 100)]
    labels, probabilities = [], []
    for p in grid:
        true = 1 / (1 + math.exp(-(2 * math.log(p / (1 - p)) - 1)))
        positives = round(1000 * true)
        labels += [1] * positives + [0] * (1000 - positives)
        probabilities += [p] * 1000
    fitted = loso.platt(labels, probabilities)
    # Class weighting makes the fit prior-free: the offset moves by the log of the pool's class ratio.
    ratio = math.log(labels.count(0) / labels.count(1))
    assert fitted.slope == pytest.approx(2.0, abs=0.05)
    assert fitted.offset == pytest.approx(-1.0 + ratio, abs=0.05)
    assert fitted(0.5) == pytest.approx(1 / (1 + math.exp(-fitted.offset)))


def test_fpr_thresholds_let_at_most_that_share_of_benign_scores_through():
    benign = [i / 1000 for i in range(1000)]
    thresholds = loso.thresholds(benign)
    for key, share in (("1%", 0.01), ("3%", 0.03), ("5%", 0.05)):
        passed = sum(s >= thresholds[key] for s in benign) / len(benign)
        assert passed <= share
        assert passed >= share - 0.002


def test_the_best_balanced_accuracy_threshold_separates_separable_scores():
    labels = [0, 0, 0, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.6, 0.9]
    threshold = loso.best_bacc_threshold(labels, scores)
    assert 0.3 < threshold <= 0.6


def test_fold_scores_are_calibrated_and_pooled_per_source():
    folds = loso.FoldScores({"a": [1, 0], "b": [0]}, {"a": [0.9, 0.1], "b": [0.2]})
    assert folds.pooled() == ([1, 0, 0], [0.9, 0.1, 0.2])
    assert folds.benign_scores("b") == [0.2]
    same = folds.calibrated(loso.Calibration(1.0, 0.0))
    assert same.scores["a"] == pytest.approx([0.9, 0.1])
    table = loso.table(folds, 0.5)
    assert table["a"]["bacc"] == 1.0
    assert math.isnan(table["b"]["tpr"])


def test_an_answer_scores_by_its_least_supported_claim_without_overflow():
    from guardd.training.grounding_fit import _hallucinated  # noqa: PLC0415

    supported, unsupported = (0.99, 1.0), (0.01, 0.2)
    assert _hallucinated([supported], 1.0, 0.0, 0.0) < 0.05
    assert _hallucinated([supported, unsupported], 1.0, 0.0, 0.0) > 0.95  # one bad sentence is enough
    assert _hallucinated([], 1.0, 0.0, 0.0) == 0.0
    assert _hallucinated([unsupported], 20.0, 20.0, -20.0) == pytest.approx(1.0)  # no math range error
    # More word overlap means more support: a higher overlap weight lowers the hallucination score.
    assert _hallucinated([(0.5, 0.9)], 1.0, 4.0, -2.0) < _hallucinated([(0.5, 0.9)], 1.0, 0.0, -2.0)
