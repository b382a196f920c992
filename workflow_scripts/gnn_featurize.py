"""Adapter: molecule table -> cached PyG graphs, kept/dropped tables and a summary."""

from medlab.gnn.featurize import (
    TableSpec,
    featurize_table,
    read_molecule_table,
    save_graphs,
)
from medlab.io import write_csv, write_json, write_tsv
from medlab.logs import configure_logging
from medlab.sampling import seeded_rows

configure_logging(snakemake.log[0])
spec = TableSpec(**snakemake.params.table)
frame = read_molecule_table(snakemake.input.table, spec)
frame = seeded_rows(frame, snakemake.params.max_molecules, snakemake.params.subsample_seed)
graphs, kept, dropped = featurize_table(frame, spec, source=snakemake.input.table)
save_graphs(graphs, snakemake.output.graphs)
# molecules.csv is the cleaned table the split indices refer to (also chemprop's input)
write_csv(kept, snakemake.output.molecules)
write_tsv(dropped, snakemake.output.dropped)
write_json(
    {
        "dataset": snakemake.wildcards.dataset,
        "rows_read": len(frame),
        "molecules_kept": len(kept),
        "rows_dropped": len(dropped),
        "positive_fraction": float(kept["label"].mean()),
        "drop_reasons": dropped["reason"].value_counts().to_dict(),
    },
    snakemake.output.summary,
)
