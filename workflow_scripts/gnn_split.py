"""Adapter: seeded random or scaffold split of the cleaned molecules -> index file."""

import pandas as pd

from medlab.gnn.splits import check_both_classes, make_split
from medlab.io import write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
molecules = pd.read_csv(snakemake.input.molecules)
split = make_split(
    snakemake.wildcards.split,
    molecules["smiles"].tolist(),
    tuple(snakemake.params.fractions),
    int(snakemake.wildcards.seed),
)
check_both_classes(
    split,
    molecules["label"].to_numpy(),
    where=f"{snakemake.input.molecules} ({snakemake.wildcards.split} split, seed {snakemake.wildcards.seed})",
)
# chemprop's --splits-file format: a list with one {train, val, test} object
write_json([split], snakemake.output.split)
