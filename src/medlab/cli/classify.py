"""``medlab classify``: a finished multi-label cell's (or ensemble's) labels for new texts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medlab.cli_options import add_device_arguments, chosen_device
from medlab.io import write_tsv
from medlab.multilabel.classify import (
    ClassifyInputError,
    classify_texts,
    load_run,
    read_texts,
)

DESCRIPTION = """\
Apply the model of a finished multi-label grid cell, or of the ensemble, to new texts and
write one row per text: data_row_1based (line of a text file; data row of a CSV, header
excluded), text, prob_<label> for every label, and predicted_labels (';'-joined labels
whose probability reaches the threshold tuned for it on validation, as the run's
evaluation chose it: multilabel.thresholds). Texts are tokenized as in training (cut to the
cell's max_length, or in its token windows).

A cell is a run directory results/multilabel/<dataset>/runs/<cell> holding model.pt and
metrics.json; the TF-IDF baseline's is runs/tfidf (model.joblib, whole texts); the
ensemble's directory, results/multilabel/<dataset>/runs/ensemble, averages the
probabilities of the members its summary.json names (cells, and tfidf when
multilabel.ensemble names it), with the ensemble's own thresholds.
"""

EXAMPLE = """\
example:
  medlab classify --run results/multilabel/synthetic/runs/bs16_lr5e-05_bce_seed0 notes.txt -o labels.tsv
"""


def register(subparsers) -> None:
    """Add the ``classify`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "classify",
        help="label texts with a trained multi-label grid cell or the ensemble",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "texts",
        type=Path,
        help="a text file with one text per line, or a CSV file with --text-column",
    )
    parser.add_argument(
        "--run",
        type=Path,
        required=True,
        metavar="RUN_DIR",
        help="a finished run directory, results/multilabel/<dataset>/runs/<cell> (or .../tfidf, .../ensemble)",
    )
    parser.add_argument(
        "--text-column",
        metavar="NAME",
        help="read the texts from this column of a CSV file (default: one text per line)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the table here, tab-separated and atomically (no partial file on "
        "failure); default: print it to standard output",
    )
    add_device_arguments(parser, "the models")
    parser.set_defaults(handler=run_classify, input_errors=(ClassifyInputError,))


def run_classify(arguments: argparse.Namespace) -> int:
    """Read the texts, load the run, classify, write or print the table."""
    texts = read_texts(arguments.texts, arguments.text_column)
    device = chosen_device(arguments, ClassifyInputError)
    cells, thresholds = load_run(arguments.run, device)
    table = classify_texts(cells, thresholds, texts, device)
    if arguments.output is None:
        table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.4f")
        return 0
    write_tsv(table, arguments.output, float_format="%.6g")
    labelled = int((table["predicted_labels"] != "").sum())
    print(
        f"classified {len(table)} texts ({labelled} with at least one label) with "
        f"{len(cells)} cell(s); wrote {arguments.output}"
    )
    return 0
