"""One grid cell end to end: load the cached tokens, fine-tune, write logs and predictions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from medlab.io import write_json, write_tsv
from medlab.multilabel.data import label_matrix, prediction_frame
from medlab.multilabel.tokenize import torch_view
from medlab.multilabel.train import (
    FineTuneSpec,
    ResumeFile,
    fine_tune,
    new_classifier,
    predict_probabilities,
    save_classifier,
)
from medlab.multilabel.units import roll_up, rows_of_documents
from medlab.training import seed_everything

log = logging.getLogger(__name__)
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class CellPaths:
    """Where one grid cell's outputs go; ``checkpoint`` holds the best weights so far while
    training (left on disk if training stops on a non-finite loss)."""

    steps: str
    epochs: str
    predictions: str
    summary: str
    checkpoint: str
    # the fine-tuned weights and how to feed them (medlab.multilabel.classify); None: not kept
    model: str | None = None


@dataclass
class SplitPart:
    """The training units of one split part and the documents they roll up to."""

    units: object  # torch-format datasets.Dataset of the part's units
    unit_documents: list[str]
    documents: list[str]
    truth: np.ndarray  # (documents, labels) 0/1
    label_set: list[str]
    empty_label: str | None = None
    # max or mean when the units are token windows pooled per document
    window_pool: str | None = None

    def document_probabilities(self, unit_probabilities: np.ndarray) -> np.ndarray:
        """(units, labels) -> (documents, labels)."""
        return roll_up(
            unit_probabilities,
            self.unit_documents,
            self.documents,
            self.label_set,
            self.empty_label,
        )

    def predict(self, model, device) -> np.ndarray:
        return self.document_probabilities(
            predict_probabilities(model, self.units, device, window_pool=self.window_pool)
        )


def split_parts(
    units,
    table: pd.DataFrame,
    split: dict,
    label_set: list[str],
    empty_label: str | None = None,
    window_pool: str | None = None,
) -> dict[str, SplitPart]:
    """Train / val / test parts of a tokenized unit dataset (documents, sentences, or token
    windows of documents whose logits are pooled by ``window_pool``).

    ``split`` holds row positions of the document ``table``; a unit belongs to the part of
    its document (the ``document`` column, or its own id when units are documents).
    """
    unit_documents = units["document"] if "document" in units.column_names else units["id"]
    truth = label_matrix(table, label_set)
    parts = {}
    for part in PARTS:
        documents = table["id"].iloc[split[part]].tolist()
        rows = rows_of_documents(unit_documents, documents)
        if not rows:
            raise ValueError(
                f"no training units for the {len(documents)} documents of the {part} split"
            )
        parts[part] = SplitPart(
            torch_view(units, rows),
            [unit_documents[r] for r in rows],
            documents,
            truth[split[part]],
            label_set,
            empty_label,
            window_pool,
        )
    return parts


def train_on_parts(
    model,
    parts: dict[str, SplitPart],
    spec: FineTuneSpec,
    seed: int,
    device,
    checkpoint_path=None,
    resume: ResumeFile | None = None,
):
    """Fine-tune on the train units, scoring each epoch on the validation documents;
    ``resume``: a per-epoch checkpoint to continue from (see :class:`ResumeFile`)."""
    val = parts["val"]
    return fine_tune(
        model,
        parts["train"].units,
        val.units,
        spec,
        seed,
        device,
        checkpoint_path=checkpoint_path,
        validation_view=lambda probabilities: (
            val.truth,
            val.document_probabilities(probabilities),
        ),
        window_pool=val.window_pool,
        resume=resume,
    )


def prediction_table(model, parts: dict[str, SplitPart], device) -> pd.DataFrame:
    """id, split, true_<label>, prob_<label> per validation and test document."""
    frames = [
        prediction_frame(
            parts[part].documents,
            part,
            parts[part].truth,
            parts[part].predict(model, device),
            parts[part].label_set,
        )
        for part in ("val", "test")
    ]
    return pd.concat(frames, ignore_index=True)


def run_cell(
    model_name: str,
    tokenized_dir,
    table: pd.DataFrame,
    split: dict,
    label_set: list[str],
    spec: FineTuneSpec,
    seed: int,
    device,
    outputs: CellPaths,
    empty_label: str | None = None,
    pooling: str = "cls",
    windows: dict | None = None,
    max_length: int | None = None,
) -> None:
    """Fine-tune on the train units, select on validation documents; write steps, epochs,
    predictions (validation and test documents) and a summary to ``outputs``.

    ``pooling`` is how the classifier reads a text (:data:`medlab.multilabel.train.POOLINGS`);
    ``windows`` (length, stride, pool) when ``tokenized_dir`` holds token windows, else
    None and ``max_length`` the tokens per text; both are written with the model to
    ``outputs.model`` (when set) so new texts can be tokenized the same way.
    The checkpoint at ``outputs.checkpoint`` is removed once every output is written.
    Raises ValueError when a split part has no training units.
    """
    # imported here: Hugging Face datasets is slow to import and only this step loads from disk
    from datasets import load_from_disk

    parts = split_parts(
        load_from_disk(str(tokenized_dir)),
        table,
        split,
        label_set,
        empty_label,
        windows["pool"] if windows else None,
    )
    # the new head's initial weights come from the seed, not from whatever drew random
    # numbers earlier in the process
    seed_everything(seed)
    model = new_classifier(model_name, len(label_set), pooling)
    checkpoint = Path(outputs.checkpoint)
    result = train_on_parts(model, parts, spec, seed, device, checkpoint_path=checkpoint)
    write_tsv(result.steps, outputs.steps, float_format="%.6g")
    write_tsv(result.epochs, outputs.epochs, float_format="%.6g")
    write_tsv(prediction_table(model, parts, device), outputs.predictions, float_format="%.6g")
    losses = result.steps["loss"]
    last_epoch = losses[result.steps.epoch == result.steps.epoch.max()]
    write_json(
        {
            "best_epoch": result.best_epoch,
            "epochs_trained": int(result.epochs["epoch"].max()),
            "training_units": len(parts["train"].units),
            "examples_per_s": float(result.epochs["examples_per_s"].mean()),
            "peak_memory_mb": float(result.epochs["peak_memory_mb"].max()),
            "train_seconds": float(result.epochs["train_seconds"].sum()),
            # coefficient of variation of the per-step training loss over the last epoch trained
            "loss_cv_last_epoch": float(last_epoch.std() / last_epoch.mean()),
            "loss_cv_all_steps": float(losses.std() / losses.mean()),
        },
        outputs.summary,
    )
    if outputs.model is not None:
        card = {
            "model": model_name,
            "pooling": pooling,
            "label_set": label_set,
            "max_length": max_length,
            "windows": windows,
        }
        save_classifier(model, card, outputs.model)
    if checkpoint.exists():
        checkpoint.unlink()
