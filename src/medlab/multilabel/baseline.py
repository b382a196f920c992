"""The lexical baseline of experiment 4: TF-IDF + one-vs-rest logistic regression.

Word n-grams weighted by sublinear TF-IDF, one logistic regression per label, fitted on the
training documents (whole texts, whatever ``multilabel.unit`` the fine-tuned cells read).
Its validation and test probabilities form a prediction table like a grid cell's, so it is
evaluated, thresholded and ensembled like one: on Hallmarks of Cancer it ranks abstracts
better than a fine-tuned MiniLM (higher macro ROC-AUC) while erring on different ones, which
is why it is worth averaging with the fine-tuned cells.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from medlab.io import atomic_path
from medlab.multilabel.data import label_matrix, prediction_frame

# the fitted baseline in its run directory (medlab.multilabel.ensemble.BASELINE_NAME)
BASELINE_MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class BaselineSpec:
    """multilabel.baseline: word n-grams up to ``ngram_max``, terms in at least ``min_df``
    training documents, inverse regularisation strength ``C``."""

    ngram_max: int = 2
    min_df: int = 2
    C: float = 10.0


class TfidfBaseline:
    """TF-IDF features and one logistic regression per label.

    A label with no positive (or no negative) training document cannot be fitted; it gets
    its training prevalence as a constant probability.
    """

    def __init__(self, spec: BaselineSpec, label_set: list[str]):
        self.spec, self.label_set = spec, list(label_set)
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, spec.ngram_max), min_df=spec.min_df, sublinear_tf=True
        )
        self.classifier = OneVsRestClassifier(LogisticRegression(C=spec.C, max_iter=2000))
        self.fitted: list[int] = []
        self.prevalence = np.zeros(len(label_set))

    def fit(self, texts: list[str], truth: np.ndarray) -> TfidfBaseline:
        """``truth``: (texts, labels) 0/1."""
        self.prevalence = truth.mean(0)
        self.fitted = [j for j in range(truth.shape[1]) if 0 < truth[:, j].sum() < len(truth)]
        if not self.fitted:
            raise ValueError(
                "TF-IDF baseline: no label has both positive and negative training documents"
            )
        features = self.vectorizer.fit_transform(texts)
        self.classifier.fit(features, truth[:, self.fitted])
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(texts, labels) probabilities."""
        probabilities = np.tile(self.prevalence, (len(texts), 1))
        probabilities[:, self.fitted] = self.classifier.predict_proba(
            self.vectorizer.transform(texts)
        )
        return probabilities


def fit_baseline(
    table: pd.DataFrame, split: dict, label_set: list[str], spec: BaselineSpec
) -> tuple[TfidfBaseline, pd.DataFrame, dict]:
    """Fit on the ``train`` rows of the document ``table`` (id, text, labels; ``split`` holds
    row positions per part); returns the model, the prediction table (id, split, true_<label>,
    prob_<label> per validation and test document, as a grid cell's) and a summary in the
    form of a cell's summary.json (one "epoch"; examples/s counts training documents)."""
    truth = label_matrix(table, label_set)
    started = time.perf_counter()
    model = TfidfBaseline(spec, label_set).fit(
        table["text"].iloc[split["train"]].tolist(), truth[split["train"]]
    )
    seconds = time.perf_counter() - started
    frames = [
        prediction_frame(
            table["id"].iloc[split[part]].tolist(),
            part,
            truth[split[part]],
            model.predict_proba(table["text"].iloc[split[part]].tolist()),
            label_set,
        )
        for part in ("val", "test")
    ]
    summary = {
        "best_epoch": 1,
        "epochs_trained": 1,
        "training_units": len(split["train"]),
        "examples_per_s": len(split["train"]) / seconds if seconds else float("nan"),
        # the process's peak resident memory (Linux reports KiB)
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "train_seconds": seconds,
        "loss_cv_last_epoch": float("nan"),
        "loss_cv_all_steps": float("nan"),
    }
    return model, pd.concat(frames, ignore_index=True), summary


def save_baseline(model: TfidfBaseline, path: str | os.PathLike) -> None:
    """Pickle the fitted baseline (joblib), atomically."""
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp)


def load_baseline(path: str | os.PathLike) -> TfidfBaseline:
    """A baseline saved by :func:`save_baseline` (a pickle: load only files you made)."""
    return joblib.load(path)
