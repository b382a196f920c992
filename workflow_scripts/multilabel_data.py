"""Adapter: build the multi-label table (synthetic notes or Hallmarks of Cancer), clean it,
split it with iterative stratification and write label statistics."""

import logging

from medlab.io import write_json, write_tsv
from medlab.logs import configure_logging
from medlab.multilabel.data import (
    clean_table,
    label_matrix,
    label_statistics,
    read_hallmarks_zip,
    stratified_split,
    to_tsv_frame,
)
from medlab.multilabel.synthetic import LABELS, generate_notes
from medlab.sampling import seeded_rows

configure_logging(snakemake.log[0])
if snakemake.wildcards.dataset == "synthetic":
    settings = snakemake.params.synthetic
    raw = generate_notes(settings["notes"], settings["seed"], settings["healthy_rate"])
    label_set = LABELS
    source = "synthetic notes"
else:
    raw = read_hallmarks_zip(snakemake.input.archive)
    counts = raw["labels"].explode().value_counts()
    label_set = sorted(counts.index)
    source = snakemake.input.archive
table, dropped = clean_table(raw, label_set, source=source)
cleaned = len(table)
table = seeded_rows(table, snakemake.params.max_documents, snakemake.params.split_seed)
table = table.reset_index(drop=True)  # positions are the split's row numbers
if len(table) < cleaned:
    logging.getLogger(__name__).info(
        "%d of %d documents sampled (multilabel.max_documents)", len(table), cleaned
    )
matrix = label_matrix(table, label_set)
split = stratified_split(matrix, tuple(snakemake.params.fractions), snakemake.params.split_seed)
statistics = label_statistics(matrix, split, label_set)
write_tsv(to_tsv_frame(table), snakemake.output.table)
write_tsv(dropped, snakemake.output.dropped)
write_json(label_set, snakemake.output.labels)
write_json(split, snakemake.output.split)
write_tsv(statistics["prevalence"], snakemake.output.prevalence, float_format="%.6g")
write_tsv(statistics["cooccurrence"], snakemake.output.cooccurrence)
write_tsv(statistics["cardinality"], snakemake.output.cardinality, float_format="%.6g")
