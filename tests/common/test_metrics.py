import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from medlab.metrics import (
    PlattScaler,
    UndefinedMetricError,
    best_f1_threshold,
    expected_calibration_error,
    logit,
    reliability_bins,
)


def _loop_ece(labels, probs, bins=10):
    # the per-bin loop the metric was first written as
    y, p = labels.ravel(), probs.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def test_reliability_bins_are_equal_width_and_skip_empty_bins():
    labels = np.array([0, 1, 1, 0, 1])
    probs = np.array([0.05, 0.15, 0.95, 1.0, 0.5])
    table = reliability_bins(labels, probs, bins=4)
    assert table["bin"].tolist() == [0, 2, 3]
    assert table["count"].tolist() == [2, 1, 2]
    assert table["lower"].tolist() == [0.0, 0.5, 0.75]
    assert table["confidence"].tolist() == pytest.approx([0.1, 0.5, 0.975])
    assert table["accuracy"].tolist() == pytest.approx([0.5, 1.0, 0.5])


def test_reliability_bins_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        reliability_bins(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("seed", range(5))
def test_ece_is_the_count_weighted_bin_gap(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random((60, 3)) < 0.3).astype(int)
    probs = np.round(rng.random((60, 3)), 1)  # values on bin edges included
    assert expected_calibration_error(labels, probs) == _loop_ece(labels, probs)
    assert expected_calibration_error(labels, probs, bins=5) == _loop_ece(labels, probs, 5)


def test_ece_of_nothing_is_zero():
    assert expected_calibration_error(np.array([]), np.array([])) == 0.0


def test_platt_on_raw_scores_is_a_logistic_regression():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=80) * 3
    labels = (scores + rng.normal(size=80) > 0).astype(int)
    expected = LogisticRegression().fit(scores[:, None], labels).predict_proba(scores[:, None])
    assert np.array_equal(PlattScaler().fit(scores, labels).predict(scores), expected[:, 1])


def test_platt_on_probabilities_goes_through_the_logit():
    rng = np.random.default_rng(1)
    probs = rng.random(80)
    labels = (rng.random(80) < probs).astype(int)
    features = logit(probs)[:, None]
    expected = LogisticRegression().fit(features, labels).predict_proba(features)[:, 1]
    scaler = PlattScaler(logit_input=True).fit(probs, labels)
    assert np.array_equal(scaler.predict(probs), expected)
    assert np.isfinite(scaler.predict(np.array([0.0, 1.0]))).all()


def test_platt_needs_both_classes():
    with pytest.raises(UndefinedMetricError, match="both classes"):
        PlattScaler().fit(np.array([0.2, 0.4]), np.array([1, 1]))
    with pytest.raises(RuntimeError, match="before fit"):
        PlattScaler().predict(np.array([0.2]))


def _brute_force_best_f1_threshold(labels, probs):
    # the definition: try every distinct probability, ties to the highest threshold
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs)
    best_threshold, best_f1 = 0.5, -1.0
    for candidate in np.unique(probs):
        score = f1_score(labels, (probs >= candidate).astype(int), zero_division=0)
        if score >= best_f1:
            best_threshold, best_f1 = float(candidate), score
    return best_threshold


@pytest.mark.parametrize("seed", range(40))
def test_best_f1_threshold_equals_the_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    labels = (rng.random(n) < rng.random()).astype(int)
    probs = rng.random(n)
    if seed % 2:
        probs = np.round(probs, 1)  # many tied probabilities, and tied F1 values
    assert best_f1_threshold(labels, probs) == _brute_force_best_f1_threshold(labels, probs)


@pytest.mark.parametrize(
    "labels, probs",
    [
        ([0, 0, 0], [0.2, 0.7, 0.4]),  # no positives: every F1 is 0
        ([1, 1, 1], [0.2, 0.7, 0.4]),
        ([0, 1], [0.3, 0.3]),  # one candidate
        ([1, 0, 1, 0], [0.9, 0.6, 0.6, 0.1]),
        ([1, 0, 0, 1], [0.8, 0.8, 0.2, 0.2]),  # F1 ties between candidates
    ],
)
def test_best_f1_threshold_edge_cases_match_the_brute_force_search(labels, probs):
    assert best_f1_threshold(labels, probs) == _brute_force_best_f1_threshold(labels, probs)


def test_best_f1_threshold_without_predictions_is_one_half():
    assert best_f1_threshold([], []) == 0.5
