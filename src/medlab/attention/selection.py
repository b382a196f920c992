"""Choosing which heads the heads-disabled conditions switch off."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from medlab.attention.importance import least_important
from medlab.attention.model import shape, validate_heads


def choose_disabled_heads(
    spec: dict | None, model, importance: pd.DataFrame | None = None
) -> list[tuple[int, int]]:
    """Heads to disable from the ``attention.disabled_heads`` config block (None: no heads).

    Explicit ``heads`` win; otherwise ``fraction`` of all heads chosen by ``policy``:
    ``random`` (seeded), ``least_important`` or ``most_important`` (needs ``importance``).
    Raises ValueError naming the config key for out-of-range heads.
    """
    if spec is None:
        return []
    if spec["heads"]:
        return validate_heads(spec["heads"], model, key="attention.disabled_heads.heads")
    n_layers, n_heads = shape(model)
    count = math.ceil(spec["fraction"] * n_layers * n_heads - 1e-9)
    if spec["policy"] == "random":
        order = np.random.default_rng(spec["seed"]).permutation(n_layers * n_heads)[:count]
        return sorted((int(i) // n_heads, int(i) % n_heads) for i in order)
    if importance is None:
        raise ValueError(
            f"attention.disabled_heads.policy {spec['policy']!r} needs the head importance table"
        )
    if spec["policy"] == "least_important":
        return sorted(least_important(importance, spec["fraction"]))
    most = importance.sort_values(
        ["importance", "layer", "head"], ascending=[False, True, True]
    ).head(count)
    return sorted((int(r.layer), int(r.head)) for r in most.itertuples())
