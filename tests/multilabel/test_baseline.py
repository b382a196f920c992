"""The TF-IDF + logistic regression baseline: a grid cell's prediction table, saved and reloaded."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medlab.multilabel.baseline import BaselineSpec, fit_baseline, load_baseline, save_baseline
from medlab.multilabel.data import label_matrix
from medlab.multilabel.synthetic import LABELS, generate_notes

SPLIT = {"train": list(range(240)), "val": list(range(240, 270)), "test": list(range(270, 300))}


@pytest.fixture(scope="module")
def fitted():
    notes = generate_notes(300, seed=1)
    return notes, *fit_baseline(notes, SPLIT, LABELS, BaselineSpec())


def test_predictions_have_a_cells_columns_and_rank_the_labels(fitted):
    notes, _, predictions, summary = fitted
    expected = ["id", "split"] + [f"{k}_{label}" for label in LABELS for k in ("true", "prob")]
    assert predictions.columns.tolist() == expected
    assert predictions["split"].value_counts().to_dict() == {"val": 30, "test": 30}
    test = predictions[predictions["split"] == "test"]
    assert test["id"].tolist() == notes["id"].iloc[SPLIT["test"]].tolist()
    probabilities = test[[f"prob_{label}" for label in LABELS]].to_numpy()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    truth = label_matrix(notes.iloc[SPLIT["test"]], LABELS)
    ranked = [j for j in range(len(LABELS)) if 0 < truth[:, j].sum() < len(truth)]
    # the synthetic notes name their diagnoses: a lexical model must rank them well
    assert np.mean([roc_auc_score(truth[:, j], probabilities[:, j]) for j in ranked]) > 0.8
    assert summary["training_units"] == 240 and summary["train_seconds"] > 0


def test_a_label_without_training_positives_gets_its_prevalence(fitted):
    notes = fitted[0].copy()
    notes["labels"] = [
        [label for label in labels if label != LABELS[0]] for labels in notes["labels"]
    ]
    _, predictions, _ = fit_baseline(notes, SPLIT, LABELS, BaselineSpec())
    assert (predictions[f"prob_{LABELS[0]}"] == 0).all()


def test_a_saved_baseline_predicts_the_same(fitted, tmp_path):
    notes, model, predictions, _ = fitted
    save_baseline(model, tmp_path / "model.joblib")
    texts = notes["text"].iloc[SPLIT["val"]].tolist()
    reloaded = load_baseline(tmp_path / "model.joblib").predict_proba(texts)
    val = predictions[predictions["split"] == "val"]
    assert np.allclose(reloaded, val[[f"prob_{label}" for label in LABELS]].to_numpy())
