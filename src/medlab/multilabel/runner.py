"""One grid cell end to end: load the cached tokens, fine-tune, write logs and predictions."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from medlab.io import write_json, write_tsv
from medlab.multilabel.train import FineTuneSpec, fine_tune, new_classifier, predict_probabilities

log = logging.getLogger(__name__)


def run_cell(model_name: str, tokenized_dir, split: dict, label_set: list[str], spec: FineTuneSpec, seed: int, device, outputs) -> None:
    """Fine-tune on ``split['train']``, select on ``split['val']``; write steps, epochs,
    predictions (val and test probabilities) and a summary."""
    from datasets import load_from_disk
    from medlab.multilabel.tokenize import torch_view

    dataset = load_from_disk(str(tokenized_dir))
    model = new_classifier(model_name, len(label_set))
    train_ds, val_ds, test_ds = (torch_view(dataset, split[p]) for p in ("train", "val", "test"))
    checkpoint = Path(outputs.summary).with_name("best_checkpoint.pt")
    result = fine_tune(model, train_ds, val_ds, spec, seed, device, checkpoint_path=checkpoint)
    frames = []
    for part, ds in (("val", val_ds), ("test", test_ds)):
        probs = predict_probabilities(model, ds, device)
        frame = pd.DataFrame({"id": [dataset[i]["id"] for i in split[part]], "split": part})
        truth = ds[:]["labels"].numpy()
        for j, label in enumerate(label_set):
            frame[f"true_{label}"] = truth[:, j].astype(int)
            frame[f"prob_{label}"] = probs[:, j]
        frames.append(frame)
    write_tsv(result.steps, outputs.steps, float_format="%.6g")
    write_tsv(result.epochs, outputs.epochs, float_format="%.6g")
    write_tsv(pd.concat(frames, ignore_index=True), outputs.predictions, float_format="%.6g")
    losses = result.steps["loss"]
    write_json(
        {"best_epoch": result.best_epoch, "epochs_trained": int(result.epochs["epoch"].max()),
         "examples_per_s": float(result.epochs["examples_per_s"].mean()),
         "peak_memory_mb": float(result.epochs["peak_memory_mb"].max()),
         "train_seconds": float(result.epochs["train_seconds"].sum()),
         # coefficient of variation of the per-step training loss over the last epoch trained
         "loss_cv_last_epoch": float(losses[result.steps.epoch == result.steps.epoch.max()].std() / losses[result.steps.epoch == result.steps.epoch.max()].mean()),
         "loss_cv_all_steps": float(losses.std() / losses.mean())},
        outputs.summary,
    )
    if checkpoint.exists():
        checkpoint.unlink()
