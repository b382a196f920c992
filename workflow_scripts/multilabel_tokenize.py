"""Adapter: tokenize the table once per model and max length; save the dataset to disk."""

import shutil
from pathlib import Path

from transformers import AutoTokenizer

from medlab.io import read_json
from medlab.logs import configure_logging
from medlab.multilabel.data import read_table
from medlab.multilabel.tokenize import tokenize_table
from medlab.multilabel.windows import WindowSpec, tokenize_windows
from medlab.pretrained import load_pretrained

configure_logging(snakemake.log[0])
tokenizer = load_pretrained(AutoTokenizer, snakemake.params.model)
table, label_set = read_table(snakemake.input.table), read_json(snakemake.input.labels)
windows = snakemake.params.windows
if windows["enabled"]:
    spec = WindowSpec(windows["length"], windows["stride"], windows["pool"])
    dataset = tokenize_windows(table, label_set, tokenizer, spec)
else:
    dataset = tokenize_table(table, label_set, tokenizer, int(snakemake.wildcards.max_length))
# save next to the target, then rename: a killed job leaves no directory that looks complete
final = Path(snakemake.output.tokens)
partial = final.with_name(final.name + ".part")
shutil.rmtree(partial, ignore_errors=True)
dataset.save_to_disk(str(partial))
partial.rename(final)
