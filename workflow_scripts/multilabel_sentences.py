"""Adapter: the labelled sentences of the kept Hallmarks of Cancer abstracts (sentence units)."""

from medlab.io import write_tsv
from medlab.logs import configure_logging
from medlab.multilabel.data import read_hallmarks_sentences, read_table, to_tsv_frame

configure_logging(snakemake.log[0])
documents = read_table(snakemake.input.table)["id"].tolist()
sentences = read_hallmarks_sentences(snakemake.input.archive, documents=documents)
write_tsv(to_tsv_frame(sentences), snakemake.output.sentences)
