"""Adapter: fetch one URL dataset (mirror first), verify it, write it and its provenance."""

from medlab.data.fetch import UrlDataset, fetch_url_dataset, resolve_mirror
from medlab.io import write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
dataset = UrlDataset(
    name=snakemake.wildcards.dataset,
    url=snakemake.params.url,
    filename=snakemake.wildcards.filename,
    sha256=snakemake.params.sha256,
)
record = fetch_url_dataset(
    dataset, snakemake.output.data, mirror=resolve_mirror(snakemake.config.get("data_mirror"))
)
write_json(record, snakemake.output.provenance)
