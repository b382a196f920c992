"""Seeded row samples of a table, for the experiments that can train on part of their data
(``gnn.max_molecules``, ``multilabel.max_documents``).

Kept apart from the experiments' modules so that each imports it without the others'
dependencies (RDKit and PyG for molecules, iterstrat for text tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def seeded_rows(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame`` drawn without replacement with ``seed``, in
    the frame's order and with its index (so a row keeps its number in the source file);
    ``frame`` itself when ``max_rows`` is None or at least its length.

    The same rows as ``frame.sample(n=max_rows, random_state=seed)``, whose draw depends
    only on the frame's length and the seed, not on its contents.
    """
    if max_rows is None or len(frame) <= max_rows:
        return frame
    positions = np.random.RandomState(seed).choice(len(frame), size=max_rows, replace=False)
    return frame.iloc[np.sort(positions)]
