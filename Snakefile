# medlab: four deep-learning experiments on biomedical data, one reproducible workflow.
#   snakemake --cores 8 report                                  # default preset
#   snakemake --cores 8 report --configfile presets/tiny.yaml   # a preset merged over config.yaml
from snakemake.utils import min_version, validate

from medlab.config import check_unknown_keys, replace_preset_maps, validate_schema

min_version("9.0")


configfile: "config.yaml"


# A preset's attention.models replaces config.yaml's map instead of adding to it.
replace_preset_maps(config, workflow.overwrite_configfiles)

# The project's checks first: one line naming the key (and, for a typo, the nearest valid
# key), where Snakemake's validate prints the whole configuration with its error.
check_unknown_keys(config, "schemas/config.schema.yaml")
validate_schema(config, "schemas/config.schema.yaml")
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
