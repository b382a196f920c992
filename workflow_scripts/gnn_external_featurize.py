"""Adapter: external molecule table -> graphs with the training dataset's molecules removed."""

from medlab.gnn.external_set import ExternalFiles, prepare_external
from medlab.gnn.featurize import TableSpec
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
prepare_external(
    table_path=snakemake.input.table,
    spec=TableSpec(**snakemake.params.table),
    training_molecules_path=snakemake.input.molecules,
    training_name=snakemake.wildcards.dataset,
    outputs=ExternalFiles(**dict(snakemake.output.items())),
)
