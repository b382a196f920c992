"""Adapter: export a dataset file shipped in an installed PyPI package, with provenance."""

from medlab.data.fetch import export_packaged_file
from medlab.io import write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
entry = snakemake.params.entry
record = export_packaged_file(
    name=snakemake.wildcards.dataset,
    distribution=entry["distribution"],
    module=entry["module"],
    relative_path=entry["path"],
    dest=snakemake.output.data,
)
write_json(record, snakemake.output.provenance)
