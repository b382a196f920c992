"""What a GNN run is made of: model and training options, and their validation.

Kept free of torch imports so the workflow can check a config in milliseconds while
Snakemake parses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from medlab.registry import ARCHITECTURES, POOLINGS

ARCHS_WITH_EDGE_FEATURES = ("gat", "gin")
# the subset of medlab.registry.LOSSES offered to the binary GNN task (the asymmetric loss
# targets multi-label data with many easy negatives)
GNN_LOSSES = ("bce", "weighted_bce", "focal")
SCHEDULERS = ("plateau", "none")
NORMS = ("batch", "none")


# No field has a default: every value comes from the config, whose defaults live in
# schemas/config.schema.yaml only (gnn_options).


@dataclass(frozen=True)
class ModelSpec:
    arch: str
    hidden: int
    layers: int
    heads: int
    dropout: float
    residual: bool
    edge_features: bool
    pooling: str
    norm: str


@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines a training run (one variant of the experiment)."""

    model: ModelSpec
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    loss: str
    focal_gamma: float
    oversample: bool
    early_stopping: bool
    patience: int
    lr_scheduler: str
    scheduler_factor: float
    scheduler_patience: int
    min_lr: float

    def fingerprint(self) -> str:
        """Stable hash of the spec, stored in checkpoints so a changed spec never resumes."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, values: dict) -> TrainSpec:
        """Build from a flat mapping of model and training options (a config variant)."""
        model_keys = set(ModelSpec.__dataclass_fields__)
        model = ModelSpec(**{k: v for k, v in values.items() if k in model_keys})
        rest = {k: v for k, v in values.items() if k not in model_keys}
        unknown = set(rest) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training option(s): {sorted(unknown)}")
        spec = cls(model=model, **rest)
        validate_train_spec(spec)
        return spec


def validate_spec(spec: ModelSpec) -> None:
    """Raise ValueError for a model the registry cannot build."""
    ARCHITECTURES.check(spec.arch)
    if spec.edge_features and spec.arch not in ARCHS_WITH_EDGE_FEATURES:
        raise ValueError(
            f"arch {spec.arch!r} cannot use edge features; only {list(ARCHS_WITH_EDGE_FEATURES)} can"
        )
    if spec.arch == "gat" and spec.hidden % spec.heads:
        raise ValueError(f"gat: hidden ({spec.hidden}) must be divisible by heads ({spec.heads})")
    POOLINGS.check(spec.pooling)
    if spec.norm not in NORMS:
        raise ValueError(f"unknown norm {spec.norm!r}; expected one of {list(NORMS)}")


def validate_train_spec(spec: TrainSpec) -> None:
    validate_spec(spec.model)
    if spec.loss not in GNN_LOSSES:
        raise ValueError(f"unknown GNN loss {spec.loss!r}; expected one of {list(GNN_LOSSES)}")
    if spec.lr_scheduler not in SCHEDULERS:
        raise ValueError(
            f"unknown lr_scheduler {spec.lr_scheduler!r}; expected one of {list(SCHEDULERS)}"
        )
