"""``medlab predict``: a finished GNN run's blood-brain-barrier predictions for new molecules."""

from __future__ import annotations

import argparse
from pathlib import Path

from medlab.cli_options import add_device_arguments, chosen_device
from medlab.gnn.predict import (
    PredictionInputError,
    load_run,
    predict_molecules,
    read_molecules,
)
from medlab.io import write_csv, write_tsv

DESCRIPTION = """\
Apply the model of one or more finished GNN runs to new molecules and write one row per
input molecule: data_row_1based (line of a .smi/.txt file; data row of a CSV, header
excluded), smiles, probability (of the positive class, e.g. BBB+), predicted_class (1 where
the probability reaches the threshold), threshold (the run's F1-optimal validation
threshold), and reason (why a molecule has no prediction: empty SMILES, RDKit could not
parse it, no atoms; such rows have empty numbers and do not stop the command).

Each run contributes the checkpoint its metrics report (the restored best weights with
early stopping, the last epoch's without), so predictions match the run's test metrics.
With --run given several times (e.g. seeds 0, 1 and 2 of one variant) the runs form an
ensemble: probability is the mean over runs, probability_std the standard deviation across
runs (population, ddof=0), and the class uses the mean of the runs' validation thresholds.
"""

EXAMPLE = """\
example:
  medlab predict --run results/gnn/b3db/random/gat_edge/seed0 molecules.csv -o predictions.csv
"""


def register(subparsers) -> None:
    """Add the ``predict`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict blood-brain-barrier permeability of molecules with trained GNN runs",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "molecules",
        type=Path,
        help="a CSV file with a SMILES column, or a .smi/.txt file with one SMILES per line "
        "(anything after the first whitespace on a line is taken as a name and ignored)",
    )
    parser.add_argument(
        "--run",
        dest="runs",
        action="append",
        type=Path,
        required=True,
        metavar="RUN_DIR",
        help="a finished GNN run directory, results/gnn/<dataset>/<split>/<variant>/seed<k>, "
        "holding model.pt and metrics.json; repeat for an ensemble (mean and standard "
        "deviation of the probability, class at the mean threshold)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="where to write the predictions: tab-separated if it ends in .tsv, else CSV; "
        "written atomically (no partial file on failure), directories created as needed",
    )
    parser.add_argument(
        "--smiles-column",
        metavar="NAME",
        help="the CSV column holding the SMILES (default: a column named smiles or SMILES, "
        "else the only column); ignored for .smi/.txt files",
    )
    add_device_arguments(parser, "the models")
    parser.set_defaults(handler=run_predict, input_errors=(PredictionInputError,))


def run_predict(arguments: argparse.Namespace) -> int:
    """Read the molecules, load the runs, predict, write the table, print a summary line."""
    molecules = read_molecules(arguments.molecules, arguments.smiles_column)
    device = chosen_device(arguments, PredictionInputError)
    runs = [load_run(directory, device) for directory in arguments.runs]
    predictions = predict_molecules(runs, molecules["smiles"].tolist(), device)
    table = molecules.join(predictions)
    write = write_tsv if arguments.output.suffix.lower() == ".tsv" else write_csv
    write(table, arguments.output, float_format="%.6g")
    invalid = int((table["reason"] != "").sum())
    print(
        f"predicted {len(table) - invalid} molecules, {invalid} invalid "
        f"(reason column), with {len(runs)} run(s); wrote {arguments.output}"
    )
    return 0
