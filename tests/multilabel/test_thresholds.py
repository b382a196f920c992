"""Per-class thresholds: plain validation tuning, k-fold cross-validation, the min_gain guard."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.metrics import (
    THRESHOLD_METHODS,
    ThresholdRule,
    guarded_thresholds,
    out_of_fold_threshold,
    per_class_thresholds,
)


def _validation(seed=0, examples=120):
    """Three labels: well separated, noisy, and rare (4 positives)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((examples, 3), dtype=int)
    labels[:, 0] = rng.random(examples) < 0.4
    labels[:, 1] = rng.random(examples) < 0.3
    labels[rng.choice(examples, 4, replace=False), 2] = 1
    probs = np.column_stack(
        [
            np.clip(0.3 * labels[:, 0] + 0.2 + 0.2 * rng.random(examples), 0, 1),
            rng.random(examples),
            np.clip(0.3 * labels[:, 2] + 0.35 * rng.random(examples), 0, 1),
        ]
    )
    return labels, probs


def test_validation_method_without_guard_is_plain_tuning():
    labels, probs = _validation()
    assert np.array_equal(
        guarded_thresholds(labels, probs, "validation", folds=5, min_gain=0.0),
        per_class_thresholds(labels, probs),
    )


def _f1(labels, probs, threshold):
    predicted = probs >= threshold
    return 2 * (predicted & (labels == 1)).sum() / (predicted.sum() + labels.sum())


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_guard_keeps_half_unless_tuning_gains_enough(rank):
    """With min_gain just below the rank-th smallest gain, exactly the labels gaining at least
    that much keep their tuned threshold; the others go back to 0.5."""
    labels, probs = _validation()
    plain = per_class_thresholds(labels, probs)
    gains = np.array(
        [
            _f1(labels[:, j], probs[:, j], plain[j]) - _f1(labels[:, j], probs[:, j], 0.5)
            for j in range(3)
        ]
    )
    assert len(set(gains.round(9))) == 3
    cut = max(0.0, float(np.sort(gains)[rank]) - 1e-9)
    guarded = guarded_thresholds(labels, probs, "validation", folds=5, min_gain=cut)
    kept = gains >= cut
    assert kept.sum() == 3 - rank
    assert np.array_equal(guarded[kept], plain[kept])
    assert np.all(guarded[~kept] == 0.5)


def test_cv_keeps_half_for_labels_with_fewer_positives_than_folds():
    labels, probs = _validation()
    assert guarded_thresholds(labels, probs, "validation", folds=5, min_gain=0.0)[2] != 0.5
    assert guarded_thresholds(labels, probs, "cv", folds=5, min_gain=0.0)[2] == 0.5  # 4 < 5
    assert guarded_thresholds(labels, probs, "cv", folds=4, min_gain=0.0)[2] != 0.5


def test_cv_thresholds_are_deterministic():
    labels, probs = _validation(seed=3)
    first = guarded_thresholds(labels, probs, "cv", folds=4, min_gain=0.0, seed=0)
    again = guarded_thresholds(labels, probs, "cv", folds=4, min_gain=0.0, seed=0)
    assert np.array_equal(first, again)
    for j in range(2):
        threshold, f1 = out_of_fold_threshold(labels[:, j], probs[:, j], folds=4, seed=0)
        assert (threshold, f1) == out_of_fold_threshold(labels[:, j], probs[:, j], folds=4, seed=0)
        # kept when it does not lose out of fold against 0.5, else 0.5
        assert first[j] in (threshold, 0.5) and 0 <= f1 <= 1


def test_cv_gain_is_measured_out_of_fold():
    """A label whose scores are noise gains in-sample by overfitting the threshold, not out of fold."""
    labels, probs = _validation(seed=1)
    in_sample = guarded_thresholds(labels, probs, "validation", folds=5, min_gain=0.02)
    out_of_fold = guarded_thresholds(labels, probs, "cv", folds=5, min_gain=0.02)
    assert in_sample[1] != 0.5
    assert out_of_fold[1] == 0.5


def test_unknown_method_is_refused():
    labels, probs = _validation()
    with pytest.raises(ValueError, match="unknown threshold method 'bootstrap'"):
        guarded_thresholds(labels, probs, "bootstrap", folds=5, min_gain=0.0)


def test_evaluation_reports_plain_and_configured_thresholds():
    labels, probs = _validation()
    label_set = ["a", "b", "c"]
    frame = pd.DataFrame(
        {"id": [f"d{i}" for i in range(240)], "split": ["val"] * 120 + ["test"] * 120}
    )
    for j, label in enumerate(label_set):
        frame[f"true_{label}"] = np.concatenate([labels[:, j], labels[:, j]])
        frame[f"prob_{label}"] = np.concatenate([probs[:, j], probs[:, j]])
    default, _ = evaluate_predictions(frame, label_set)
    assert default["tuned_thresholds"] == default["per_class_thresholds"]
    assert default["thresholds"]["tuned"] == default["thresholds"]["per_class"]
    cv, _ = evaluate_predictions(frame, label_set, ThresholdRule("cv", folds=5, min_gain=0.0))
    assert cv["per_class_thresholds"] == default["per_class_thresholds"]
    assert cv["thresholds"]["method"] == "cv" and cv["thresholds"]["tuned"]["c"] == 0.5


def test_threshold_methods_match_the_schema():
    schema = yaml.safe_load(Path("schemas/config.schema.yaml").read_text())
    thresholds = schema["properties"]["multilabel"]["properties"]["thresholds"]["properties"]
    assert tuple(thresholds["method"]["enum"]) == THRESHOLD_METHODS
