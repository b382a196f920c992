"""A finished grid cell, the TF-IDF baseline, or their ensemble applied to new texts.

A cell's run directory holds ``model.pt`` (the fine-tuned weights and the card saying how
to rebuild and feed the model) and ``metrics.json`` (the per-class thresholds tuned on
validation). Texts are tokenized as in training (truncated to the cell's max_length, or in
its token windows), scored, and labelled where a probability reaches its label's threshold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import AutoTokenizer

from medlab.io import read_json
from medlab.multilabel.baseline import BASELINE_MODEL_FILE, TfidfBaseline, load_baseline
from medlab.multilabel.ensemble import BASELINE_NAME, ENSEMBLE_NAME
from medlab.multilabel.tokenize import tokenize_table, torch_view
from medlab.multilabel.train import load_classifier, predict_probabilities
from medlab.multilabel.units import roll_up
from medlab.multilabel.windows import WindowSpec, tokenize_windows
from medlab.pretrained import load_pretrained

MODEL_FILE = "model.pt"
METRICS_FILE = "metrics.json"
SUMMARY_FILE = "summary.json"
ROW_COLUMN = "data_row_1based"


class ClassifyInputError(ValueError):
    """The texts or the run directory given to classify are not usable; the message says why."""


@dataclass
class FinishedCell:
    """One trained cell: its name (run directory), model (eval mode) and card."""

    name: str
    model: torch.nn.Module
    card: dict


@dataclass
class FinishedBaseline:
    """The fitted TF-IDF baseline of a run (an ensemble member); ``card`` holds its labels."""

    name: str
    model: TfidfBaseline

    @property
    def card(self) -> dict:
        return {"label_set": self.model.label_set}


def _require(run_dir: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = run_dir / name
        if not path.is_file():
            raise ClassifyInputError(
                f"{run_dir} is not a finished multi-label run: {path} is missing; build it "
                f"with 'snakemake --cores 1 {path}'"
            )


def load_cell(run_dir: str | os.PathLike, device: torch.device) -> FinishedCell:
    """The model of the cell in ``run_dir``. Raises ClassifyInputError naming the missing
    file and the snakemake target that builds it."""
    run_dir = Path(run_dir)
    _require(run_dir, (MODEL_FILE,))
    model, card = load_classifier(run_dir / MODEL_FILE)
    return FinishedCell(run_dir.name, model.to(device).eval(), card)


def load_member(run_dir: Path, device: torch.device) -> FinishedCell | FinishedBaseline:
    """A grid cell's model, or the fitted baseline when ``run_dir`` is the baseline's."""
    if run_dir.name == BASELINE_NAME:
        _require(run_dir, (BASELINE_MODEL_FILE,))
        return FinishedBaseline(run_dir.name, load_baseline(run_dir / BASELINE_MODEL_FILE))
    return load_cell(run_dir, device)


def load_run(run_dir: str | os.PathLike, device: torch.device):
    """(cells, thresholds) of a cell's run directory, or of the ensemble's (its members are
    the sibling run directories its summary names). ``thresholds`` (labels,) are those the
    run's evaluation tuned on validation. Raises ClassifyInputError as :func:`load_cell`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ClassifyInputError(f"run directory {run_dir} does not exist")
    _require(run_dir, (METRICS_FILE,))
    if run_dir.name == ENSEMBLE_NAME:
        _require(run_dir, (SUMMARY_FILE,))
        members = read_json(run_dir / SUMMARY_FILE)["members"]
        cells = [load_member(run_dir.parent / name, device) for name in members]
    else:
        cells = [load_member(run_dir, device)]
    tuned = read_json(run_dir / METRICS_FILE)["thresholds"]
    by_label = tuned.get("tuned", tuned["per_class"])
    return cells, np.array([by_label[label] for label in cells[0].card["label_set"]])


def read_texts(path: str | os.PathLike, text_column: str | None = None) -> pd.DataFrame:
    """``data_row_1based`` and ``text`` of a text file (one text per line) or, with
    ``text_column``, of that column of a CSV file. Raises ClassifyInputError naming the
    file when it is missing or unreadable, or the column when it is absent."""
    path = Path(path)
    if not path.is_file():
        raise ClassifyInputError(f"text file {path} does not exist")
    try:
        if text_column is None:
            texts = path.read_text(encoding="utf-8-sig").splitlines()
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            if text_column not in frame.columns:
                raise ClassifyInputError(
                    f"{path}: no column {text_column!r}; the columns are {', '.join(frame.columns)}"
                )
            texts = frame[text_column].tolist()
    except UnicodeDecodeError as error:
        raise ClassifyInputError(
            f"{path}: not UTF-8 text ({error}); re-save it as UTF-8"
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ClassifyInputError(f"{path}: not readable as a CSV table ({error})") from error
    return pd.DataFrame({ROW_COLUMN: range(1, len(texts) + 1), "text": texts})


def cell_probabilities(
    cell: FinishedCell | FinishedBaseline, texts: list[str], device: torch.device
) -> np.ndarray:
    """(texts, labels) probabilities of one cell, tokenized as the cell was trained (the
    baseline reads whole texts)."""
    if isinstance(cell, FinishedBaseline):
        return cell.model.predict_proba(texts)
    card, label_set = cell.card, cell.card["label_set"]
    ids = [str(i) for i in range(len(texts))]
    table = pd.DataFrame({"id": ids, "text": texts, "labels": [[] for _ in texts]})
    tokenizer = load_pretrained(AutoTokenizer, card["model"])
    windows = card.get("windows")
    if windows:
        spec = WindowSpec(windows["length"], windows["stride"], windows["pool"])
        units = tokenize_windows(table, label_set, tokenizer, spec)
    else:
        units = tokenize_table(table, label_set, tokenizer, card["max_length"])
    view = torch_view(units, list(range(len(units))))
    probabilities = predict_probabilities(
        cell.model, view, device, window_pool=windows["pool"] if windows else None
    )
    return roll_up(probabilities, units["document"], ids, label_set)


def classify_texts(
    cells: list[FinishedCell], thresholds: np.ndarray, texts: pd.DataFrame, device
) -> pd.DataFrame:
    """``texts`` (data_row_1based, text) with ``prob_<label>`` per label (the mean over
    ``cells``) and ``predicted_labels`` (';'-joined labels at or above their threshold)."""
    label_set = cells[0].card["label_set"]
    probabilities = np.mean(
        [cell_probabilities(cell, texts["text"].tolist(), device) for cell in cells], axis=0
    )
    table = texts.copy()
    for j, label in enumerate(label_set):
        table[f"prob_{label}"] = probabilities[:, j]
    predicted = probabilities >= thresholds
    table["predicted_labels"] = [
        ";".join(label for label, on in zip(label_set, row) if on) for row in predicted
    ]
    return table
