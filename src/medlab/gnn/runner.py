"""One training run end to end: train, then write weights, history and predictions."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from medlab.gnn.models import MoleculeGNN
from medlab.gnn.spec import TrainSpec
from medlab.gnn.train import predict, train_gnn
from medlab.io import atomic_path, write_tsv

log = logging.getLogger(__name__)


def run_training(
    dataset,
    split: dict[str, list[int]],
    spec_values: dict,
    seed: int,
    device,
    model_path,
    history_path,
    predictions_path,
    checkpoint_path=None,
    checkpoint_every: int = 5,
) -> None:
    """Train on ``split`` and write the weights to ``model_path``, the per-epoch history to
    ``history_path`` and the validation and test probabilities to ``predictions_path``.

    ``checkpoint_path`` (optional) is where training saves its state every
    ``checkpoint_every`` epochs, for resuming a killed job; it is removed once all outputs
    exist. Raises ValueError for an invalid ``spec_values``.
    """
    spec = TrainSpec.from_dict(spec_values)
    log.info("seed %d, spec %s", seed, spec_values)
    result = train_gnn(
        dataset,
        split,
        spec,
        seed,
        device,
        checkpoint_path=checkpoint_path,
        checkpoint_every=checkpoint_every,
    )
    with atomic_path(model_path) as tmp:
        torch.save(
            {
                "spec": spec_values,
                "seed": seed,
                "best_epoch": result.best_epoch,
                "best_state": result.best_state,
                "final_state": result.final_state,
                "atom_dim": dataset.atom_dim,
                "bond_dim": dataset.bond_dim,
            },
            tmp,
        )
    write_tsv(result.history, history_path, float_format="%.6g")
    write_tsv(
        predictions_table(dataset, split, spec, result, device),
        predictions_path,
        float_format="%.6g",
    )
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        Path(checkpoint_path).unlink()


def predictions_table(dataset, split, spec: TrainSpec, result, device) -> pd.DataFrame:
    """Validation and test probabilities of the best and the final weights.

    Columns: split, index (row of the cleaned molecule table), label, prob_best, prob_final.
    """
    model = MoleculeGNN(spec.model, dataset.atom_dim, dataset.bond_dim).to(device)
    frames = []
    for part in ("val", "test"):
        graphs = dataset[split[part]]
        frame = pd.DataFrame(
            {
                "split": part,
                "index": split[part],
                "label": dataset.labels[split[part]].int().numpy(),
            }
        )
        for name, state in (("best", result.best_state), ("final", result.final_state)):
            model.load_state_dict(state)
            frame[f"prob_{name}"] = predict(model, graphs, device)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
