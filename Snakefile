# medlab: four deep-learning experiments on biomedical data, one reproducible workflow.
#   snakemake --cores 8 report                                  # default preset
#   snakemake --cores 8 report --configfile presets/tiny.yaml   # a preset merged over config.yaml
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


# set_default=False: config.yaml holds every key; schema defaults would otherwise be
# copied into each gnn.variants entry and override gnn.defaults.
validate(config, schema="schemas/config.schema.yaml", set_default=False)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/gnn.smk"
include: "rules/attention.smk"
include: "rules/rag.smk"
include: "rules/multilabel.smk"
include: "rules/report.smk"


rule all:
    input:
        "results/report/index.html",
    default_target: True
