"""Choosing which heads the heads-disabled conditions switch off."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from medlab.attention.importance import least_important
from medlab.attention.model import shape, validate_heads
from medlab.registry import HEAD_SELECTIONS


def choose_disabled_heads(
    spec: dict | None, model, importance: pd.DataFrame | None = None
) -> list[tuple[int, int]]:
    """Heads to disable from the ``attention.disabled_heads`` config block (None: no heads).

    Explicit ``heads`` win; otherwise ``fraction`` of all heads chosen by ``policy`` (one
    of ``HEAD_SELECTIONS.names()``): ``random`` (seeded), ``least_important`` or
    ``most_important`` (these need ``importance``). Returns sorted (layer, head) pairs.
    Raises ValueError naming the config key for out-of-range heads or a missing table.
    """
    if spec is None:
        return []
    if spec["heads"]:
        return validate_heads(spec["heads"], model, key="attention.disabled_heads.heads")
    n_layers, n_heads = shape(model)
    count = math.ceil(spec["fraction"] * n_layers * n_heads - 1e-9)
    return HEAD_SELECTIONS.get(spec["policy"])(spec, count, n_layers, n_heads, importance)


# policies: (config block, number of heads to choose, layers, heads per layer, importance
# table or None) -> sorted (layer, head) pairs


@HEAD_SELECTIONS.register("random")
def _random_heads(spec: dict, count: int, n_layers: int, n_heads: int, importance):
    order = np.random.default_rng(spec["seed"]).permutation(n_layers * n_heads)[:count]
    return sorted((int(i) // n_heads, int(i) % n_heads) for i in order)


@HEAD_SELECTIONS.register("least_important")
def _least_important_heads(spec: dict, count: int, n_layers: int, n_heads: int, importance):
    _require_importance(spec, importance)
    return sorted(least_important(importance, spec["fraction"]))


@HEAD_SELECTIONS.register("most_important")
def _most_important_heads(spec: dict, count: int, n_layers: int, n_heads: int, importance):
    _require_importance(spec, importance)
    most = importance.sort_values(
        ["importance", "layer", "head"], ascending=[False, True, True]
    ).head(count)
    return sorted((int(r.layer), int(r.head)) for r in most.itertuples())


def _require_importance(spec: dict, importance: pd.DataFrame | None) -> None:
    if importance is None:
        raise ValueError(
            f"attention.disabled_heads.policy {spec['policy']!r} needs the head importance table"
        )
