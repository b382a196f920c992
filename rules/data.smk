# Dataset acquisition. URL datasets: local mirror first ($MEDLAB_DATA_MIRROR or the
# data_mirror key), then the URL; sha256 verified when configured; written atomically.
# Packaged datasets are exported from an installed PyPI package. Each file gets a
# <file>.provenance.json (source, sha256, size) that the report shows.
#
# The mirror location is deliberately not a param: where a verified file came from does
# not change its content, so moving the mirror must not rerun every downstream job.


rule data_download:
    output:
        data="results/data/{dataset}/{filename}",
        provenance="results/data/{dataset}/{filename}.provenance.json",
    wildcard_constraints:
        dataset=get_constraint(config["datasets"]),
        filename=get_constraint(d["filename"] for d in config["datasets"].values()),
    params:
        code=script_code("data_download"),
        url=lambda wc: config["datasets"][wc.dataset]["url"],
        sha256=lambda wc: config["datasets"][wc.dataset]["sha256"],
    log:
        "logs/data/{dataset}/{filename}.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/data_download.py"


rule data_export_packaged:
    output:
        data="results/data/{dataset}/{filename}",
        provenance="results/data/{dataset}/{filename}.provenance.json",
    wildcard_constraints:
        dataset=get_constraint(config["packaged_datasets"]),
        filename=get_constraint(map(get_packaged_filename, config["packaged_datasets"])),
    params:
        code=script_code("data_export_packaged"),
        entry=lambda wc: config["packaged_datasets"][wc.dataset],
    log:
        "logs/data/{dataset}/{filename}.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/data_export_packaged.py"
