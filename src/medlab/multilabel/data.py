"""Multi-label text tables: loading, cleaning, iterative-stratified splits, label statistics.

The common table has columns id, text, labels (a list of label names). On disk it is a
TSV with labels joined by ';'.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
from sklearn.preprocessing import MultiLabelBinarizer

log = logging.getLogger(__name__)


def to_tsv_frame(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(labels=table["labels"].map(";".join))


def read_table(path) -> pd.DataFrame:
    """Read a TSV written by :func:`to_tsv_frame`; raise ValueError naming the file on missing columns."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = {"id", "text", "labels"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    return frame.assign(labels=frame["labels"].map(lambda v: [x for x in v.split(";") if x]))


def clean_table(
    table: pd.DataFrame, label_set: list[str], source: str = "table"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop rows with empty text, no labels, labels outside ``label_set`` or a duplicate id.

    Returns (clean, dropped); ``dropped`` has id, row, reason. Raises ValueError when
    nothing is left.
    """
    known, seen, keep, dropped = set(label_set), set(), [], []
    for row, record in enumerate(table.itertuples(index=False)):
        unknown = sorted(set(record.labels) - known)
        if not str(record.text).strip():
            reason = "empty text"
        elif not record.labels:
            reason = "no labels"
        elif unknown:
            reason = f"labels {unknown} not in the label set"
        elif record.id in seen:
            reason = "duplicate id"
        else:
            reason = None
        if reason:
            dropped.append((record.id, row, reason))
        else:
            keep.append(row)
        seen.add(record.id)
    if dropped:
        log.warning("%s: dropped %d of %d rows: %s", source, len(dropped), len(table), dropped[:5])
    if not keep:
        raise ValueError(f"{source}: no valid rows left after dropping {len(dropped)}")
    return table.iloc[keep].reset_index(drop=True), pd.DataFrame(
        dropped, columns=["id", "row", "reason"]
    )


def prediction_frame(
    ids: list[str], part: str, truth: np.ndarray, probabilities: np.ndarray, label_set: list[str]
) -> pd.DataFrame:
    """The rows of a prediction table for one split part: id, split, then true_<label> and
    prob_<label> per label (``truth``, ``probabilities``: (documents, labels)). Grid cells, the
    baseline and the ensemble all write this layout, so they are evaluated alike."""
    frame = pd.DataFrame({"id": ids, "split": part})
    for j, label in enumerate(label_set):
        frame[f"true_{label}"] = truth[:, j].astype(int)
        frame[f"prob_{label}"] = probabilities[:, j]
    return frame


def label_matrix(table: pd.DataFrame, label_set: list[str]) -> np.ndarray:
    """(rows, labels) 0/1 int64 matrix in ``label_set`` order.

    Raises ValueError naming the first row whose labels are outside ``label_set``
    (:func:`clean_table` drops such rows).
    """
    known = set(label_set)
    for row, labels in enumerate(table["labels"]):
        unknown = sorted(set(labels) - known)
        if unknown:
            where = f"row {row}" + (f" (id {table['id'].iloc[row]!r})" if "id" in table else "")
            raise ValueError(
                f"{where}: labels {unknown} are not in the label set {label_set}; "
                "clean the table first (clean_table drops such rows)"
            )
    binarizer = MultiLabelBinarizer(classes=label_set)
    return binarizer.fit_transform(table["labels"]).astype(np.int64)


def stratified_split(
    matrix: np.ndarray, fractions=(0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[int]]:
    """Iterative stratification (Sechidis et al. 2011, iterative-stratification package) so
    rare labels reach every split: train vs rest, then rest into validation and test."""

    indices = np.arange(len(matrix))
    first = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=fractions[1] + fractions[2], random_state=seed
    )
    train, rest = next(first.split(indices, matrix))
    second = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=fractions[2] / (fractions[1] + fractions[2]), random_state=seed
    )
    val, test = next(second.split(rest, matrix[rest]))
    return {
        "train": sorted(train.tolist()),
        "val": sorted(rest[val].tolist()),
        "test": sorted(rest[test].tolist()),
    }


def label_statistics(
    matrix: np.ndarray, split: dict[str, list[int]], label_set: list[str]
) -> dict[str, pd.DataFrame]:
    """Prevalence per label and split, cardinality, and the label co-occurrence matrix."""
    prevalence = pd.DataFrame(
        {"label": label_set, "count": matrix.sum(0), "prevalence": matrix.mean(0)}
    )
    for part, rows in split.items():
        prevalence[f"{part}_positives"] = matrix[rows].sum(0)
    cardinality = pd.DataFrame(
        {"labels_per_example": [float(matrix.sum(1).mean())], "examples": [len(matrix)]}
    )
    cooccurrence = pd.DataFrame(matrix.T @ matrix, index=label_set, columns=label_set).reset_index(
        names="label"
    )
    return {"prevalence": prevalence, "cardinality": cardinality, "cooccurrence": cooccurrence}


NO_HALLMARK = "none"


def _hallmarks_records(path):
    """(pmid, text, raw label text) per abstract of the Hallmarks of Cancer archive, by PMID.

    Raises ValueError naming the archive when it or one of its members is damaged.
    """
    try:
        yield from _archive_records(path)
    except (zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"{path}: not a readable ZIP archive ({error}); it is a cached download: delete it "
            "(and its .provenance.json) and rerun to fetch it again"
        ) from error


def _archive_records(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        texts = {
            re.sub(r"\.txt$", "", n.rsplit("/", 1)[-1]): n
            for n in names
            if "/text/" in n and n.endswith(".txt")
        }
        labels = {
            re.sub(r"\.txt$", "", n.rsplit("/", 1)[-1]): n
            for n in names
            if "/labels/" in n and n.endswith(".txt")
        }
        for pmid in sorted(texts):
            text = io.TextIOWrapper(
                archive.open(texts[pmid]), encoding="utf-8", errors="replace"
            ).read()
            raw = (
                archive.read(labels[pmid]).decode("utf-8", errors="replace")
                if pmid in labels
                else ""
            )
            yield pmid, text, raw


def read_hallmarks_zip(path) -> pd.DataFrame:
    """Hallmarks of Cancer abstracts with their top-level hallmarks (10 hallmarks + 'none').

    In ``labels/<PMID>.txt`` sentence labels are separated by '<', a hierarchy by '--' and
    several labels of one sentence by 'AND'. The top-level hallmark of each sentence label
    is rolled up to the abstract; the stray 'NULL' is dropped; an abstract with no hallmark
    is labelled 'none'.
    """
    rows = [
        {"id": pmid, "text": " ".join(text.split()), "labels": hallmarks_from_label_text(raw)}
        for pmid, text, raw in _hallmarks_records(path)
    ]
    return pd.DataFrame(rows)


def read_hallmarks_sentences(path, documents=None) -> pd.DataFrame:
    """One row per sentence: id ``<PMID>_<n>``, document (the PMID), text, labels.

    ``text/<PMID>.txt`` holds one sentence per line and ``labels/<PMID>.txt`` one '<'-led
    field per sentence, in the same order; a sentence without a hallmark is labelled
    'none'. ``documents`` keeps only those PMIDs. Raises ValueError naming the file when
    the two counts differ (another version of the archive).
    """
    keep = None if documents is None else set(documents)
    rows = []
    for pmid, text, raw in _hallmarks_records(path):
        if keep is not None and pmid not in keep:
            continue
        sentences = [line for line in text.splitlines() if line.strip()]
        fields = raw.split("<")[1:]
        if len(fields) != len(sentences):
            raise ValueError(
                f"{path}: labels/{pmid}.txt has {len(fields)} sentence labels for {len(sentences)} sentences in text/{pmid}.txt"
            )
        rows += [
            {
                "id": f"{pmid}_{n:03d}",
                "document": pmid,
                "text": " ".join(sentence.split()),
                "labels": hallmarks_from_label_text(field),
            }
            for n, (sentence, field) in enumerate(zip(sentences, fields))
        ]
    return pd.DataFrame(rows, columns=["id", "document", "text", "labels"])


def hallmarks_from_label_text(raw: str) -> list[str]:
    found = set()
    for sentence_labels in raw.split("<"):
        for label in sentence_labels.split("AND"):
            top = label.split("--")[0].strip()
            if top and top.upper() != "NULL":
                found.add(top)
    return sorted(found) if found else [NO_HALLMARK]
