"""Training units smaller than a document: sentences labelled on their own, predictions
rolled up to their document.

A document that is too long for the encoder loses its tail to truncation; sentence units
keep every sentence and carry finer supervision where the corpus labels sentences
(Hallmarks of Cancer does). The split stays by document, so no sentence of a test
document is seen in training, and evaluation stays at the document level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rows_of_documents(unit_documents: list[str], documents: list[str]) -> list[int]:
    """Positions of the units that belong to ``documents``, in unit order."""
    wanted = set(documents)
    return [row for row, document in enumerate(unit_documents) if document in wanted]


def roll_up(
    probabilities: np.ndarray,
    unit_documents: list[str],
    documents: list[str],
    label_set: list[str],
    empty_label: str | None = None,
) -> np.ndarray:
    """Document probabilities from unit probabilities.

    probabilities: (units, labels); unit_documents: the document of each unit. Returns
    (len(documents), labels) in ``documents`` order: a document has a label when any of its
    units has it (max), except ``empty_label`` ('no other label'), which a document has
    only when all its units have it (min). Raises ValueError naming a document without units.
    """
    frame = pd.DataFrame(probabilities, columns=label_set)
    frame["document"] = list(unit_documents)
    grouped = frame.groupby("document", sort=False)
    rolled = grouped.max()
    if empty_label is not None:
        rolled[empty_label] = grouped[empty_label].min()
    missing = [d for d in documents if d not in rolled.index]
    if missing:
        raise ValueError(f"{len(missing)} document(s) have no units to roll up, e.g. {missing[:3]}")
    return rolled.loc[list(documents), label_set].to_numpy()
