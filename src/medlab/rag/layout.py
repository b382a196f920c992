"""Where experiment 3 keeps its files and which inputs each of its rules needs, from the
``rag`` config section alone. rules/rag.smk binds these to the config; Snakemake's lint
keeps function definitions out of rule files, so they live here, testable without it."""

from __future__ import annotations

from collections.abc import Callable

# summary file key -> path; the report also reads them as rag_<key>
SUMMARY_FILES = {
    "retrieval": "results/rag/summary/retrieval.tsv",
    "readers": "results/rag/summary/readers.tsv",
    "stability": "results/rag/summary/stability.tsv",
    "perturbation": "results/rag/summary/perturbation.tsv",
    "worst": "results/rag/summary/worst_cases.tsv",
    "per_question": "results/rag/summary/per_question.tsv",
    "retrieval_plot": "results/rag/summary/retrieval.png",
    "reliability_plot": "results/rag/summary/reliability.png",
}
# the summary files shown in Snakemake's own report (snakemake --report)
REPORTED_SUMMARIES = ("retrieval", "readers", "retrieval_plot", "reliability_plot")


def rag_base_retrievers(rag: dict) -> list[str]:
    """The indexes the configured methods need: bm25, dense and/or dense_finetuned."""
    needed = {m for m in rag["retrievers"] if m in ("bm25", "dense", "dense_finetuned")}
    if any(m.startswith("hybrid") for m in rag["retrievers"]):
        needed |= {"bm25", rag["hybrid"]["dense"]}
    return sorted(needed)


def rag_dir(rag: dict) -> str:
    """results/rag/<corpus name>."""
    return f"results/rag/{rag['corpus']['name']}"


def corpus_inputs(rag: dict, dataset_file: Callable[[str], str]) -> dict:
    """The corpus files: documents + questions (jsonl), or one SQuAD file, local or the
    downloaded dataset (``dataset_file`` maps a dataset key to its path)."""
    corpus = rag["corpus"]
    if corpus["format"] == "jsonl":
        return {"documents": corpus["documents"], "questions": corpus["questions"]}
    return {"file": corpus["file"] or dataset_file(corpus["dataset"])}


def fine_tuned_encoder(corpus: str) -> str:
    return f"results/rag/{corpus}/retriever/model"


def fine_tuned_reader(corpus: str) -> str:
    return f"results/rag/{corpus}/reader/model"


def encoder_input(corpus: str, encoder: str) -> dict:
    """The fine-tuned encoder directory when indexing with it; nothing for the configured one."""
    return {"model": fine_tuned_encoder(corpus)} if encoder == "finetuned" else {}


def encoder_name(rag: dict, corpus: str, encoder: str) -> str:
    """The encoder of a dense index: ``finetuned`` (trained here) or ``base`` (rag.encoder)."""
    return fine_tuned_encoder(corpus) if encoder == "finetuned" else rag["encoder"]


def index_inputs(rag: dict, corpus: str) -> dict:
    """Cached indexes the configured retrieval methods need, each named after its method."""
    root = f"results/rag/{corpus}"
    index_files = {
        "bm25": f"{root}/index/bm25_{rag['bm25_library']}.pkl",
        "dense": f"{root}/index/dense_base_{rag['dense_index']}.faiss",
        "dense_finetuned": f"{root}/index/dense_finetuned_{rag['dense_index']}.faiss",
    }
    files = {method: index_files[method] for method in rag_base_retrievers(rag)}
    if "dense_finetuned" in files:
        files["finetuned_encoder"] = fine_tuned_encoder(corpus)
    return files


def synthetic_files(corpus: str) -> dict:
    """The synthetic stage's outputs: questions (the questions.jsonl format), stats and the
    report's sample."""
    root = f"results/rag/{corpus}/synthetic"
    return {
        "questions": f"{root}/questions.jsonl",
        "stats": f"{root}/stats.json",
        "sample": f"{root}/sample.tsv",
    }


def reader_uses_synthetic(rag: dict) -> bool:
    """Whether the fine-tuned extractive reader trains on synthetic questions first."""
    reader = rag["reader"]
    return reader_is_fine_tuned(rag, "extractive") and reader["synthetic"]["enabled"]


def retriever_uses_synthetic(rag: dict) -> bool:
    """Whether retriever fine-tuning adds the synthetic (question, passage) pairs."""
    training = rag["retriever_training"]
    return training["enabled"] and training["synthetic"]


def synthetic_input(rag: dict, corpus: str, uses_synthetic: Callable[[dict], bool]) -> dict:
    """``synthetic``: the synthetic questions, for a training rule that uses them; else nothing."""
    return {"synthetic": synthetic_files(corpus)["questions"]} if uses_synthetic(rag) else {}


def synthetic_settings(rag: dict) -> dict:
    """rag.reader.synthetic without the settings only the reader's training reads.

    The synthesizing rule's params: turning the reader's two-stage training on or off,
    or changing its synthetic epochs or negatives, does not make the questions again.
    """
    reader_only = ("enabled", "epochs", "negatives_per_question")
    return {k: v for k, v in rag["reader"]["synthetic"].items() if k not in reader_only}


def synthetic_epochs(rag: dict) -> int:
    """Reader epochs on the synthetic questions before the gold ones (0: one gold stage)."""
    return rag["reader"]["synthetic"]["epochs"] if reader_uses_synthetic(rag) else 0


def synthetic_negatives(rag: dict) -> int | None:
    """Negative passages per synthetic question in reader training: rag.reader.synthetic's
    ``negatives_per_question``, or the gold questions' count (rag.reader.training) when that
    is null; None without a synthetic stage."""
    if not reader_uses_synthetic(rag):
        return None
    negatives = rag["reader"]["synthetic"]["negatives_per_question"]
    return rag["reader"]["training"]["negatives_per_question"] if negatives is None else negatives


# the reader ablation's readers besides the configured one (rag.reader.ablation): gold
# questions alone, synthetic questions alone, and synthetic_<n> (synthetic -> gold with a
# seeded n of the synthetic questions: the learning curve)
ABLATION_GOLD_ONLY = "gold_only"
ABLATION_SYNTHETIC_ONLY = "synthetic_only"
ABLATION_CURVE_PREFIX = "synthetic_"
# the configured reader's name in the ablation table (synthetic questions, then gold)
ABLATION_CONFIGURED = "configured"


def ablation_enabled(rag: dict) -> bool:
    """Whether the reader ablation runs (config checks make it need the two-stage reader)."""
    return rag["reader"]["ablation"]["enabled"] and reader_uses_synthetic(rag)


def ablation_variants(rag: dict) -> list[str]:
    """The ablation's extra readers, in table order; none when it is off."""
    if not ablation_enabled(rag):
        return []
    curve = [f"{ABLATION_CURVE_PREFIX}{n}" for n in sorted(rag["reader"]["ablation"]["curve"])]
    return [ABLATION_GOLD_ONLY, ABLATION_SYNTHETIC_ONLY, *curve]


def ablation_dir(corpus: str) -> str:
    return f"results/rag/{corpus}/ablation"


def ablation_variant_files(corpus: str, variant: str) -> dict:
    """One ablation reader's outputs: its epoch log and its scores (a JSON row of the table)."""
    root = f"{ablation_dir(corpus)}/{variant}"
    return {"epochs": f"{root}/epochs.tsv", "scores": f"{root}/scores.json"}


def ablation_stages(rag: dict, variant: str) -> dict:
    """How an ablation reader's training differs from the configured reader's: gold epochs,
    synthetic epochs and how many synthetic questions (None: all of them).

    Raises:
        ValueError: for a name that is not one of :func:`ablation_variants`.
    """
    if variant not in ablation_variants(rag):
        raise ValueError(f"{variant!r} is not a reader of rag.reader.ablation")
    gold, synthetic = rag["reader"]["training"]["epochs"], rag["reader"]["synthetic"]["epochs"]
    if variant == ABLATION_GOLD_ONLY:
        return {"gold_epochs": gold, "synthetic_epochs": 0, "synthetic_questions": 0}
    if variant == ABLATION_SYNTHETIC_ONLY:
        return {"gold_epochs": 0, "synthetic_epochs": synthetic, "synthetic_questions": None}
    size = int(variant.removeprefix(ABLATION_CURVE_PREFIX))
    return {"gold_epochs": gold, "synthetic_epochs": synthetic, "synthetic_questions": size}


def ablation_variant_input(rag: dict, corpus: str, variant: str) -> dict:
    """``synthetic``: the synthetic questions, for every ablation reader but gold only."""
    if ablation_stages(rag, variant)["synthetic_epochs"] == 0:
        return {}
    return {"synthetic": synthetic_files(corpus)["questions"]}


def ablation_inputs(rag: dict, corpus: str) -> dict:
    """What the ablation table is made from: every ablation reader's scores, the configured
    reader and its epoch log, and the synthetic stage's stats (how many questions it made)."""
    return {
        "scores": [ablation_variant_files(corpus, v)["scores"] for v in ablation_variants(rag)],
        "model": fine_tuned_reader(corpus),
        "epochs": f"results/rag/{corpus}/reader/epochs.tsv",
        "synthetic_stats": synthetic_files(corpus)["stats"],
    }


def ablation_summary_files(corpus: str) -> dict:
    """The ablation table and its learning-curve figure."""
    root = ablation_dir(corpus)
    return {"table": f"{root}/summary.tsv", "plot": f"{root}/learning_curve.png"}


def reader_is_fine_tuned(rag: dict, reader: str) -> bool:
    return reader == "extractive" and rag["reader"]["fine_tune"]


def reader_input(rag: dict, corpus: str, reader: str) -> dict:
    """The fine-tuned reader directory when ``reader`` is trained here; else nothing."""
    return {"model": fine_tuned_reader(corpus)} if reader_is_fine_tuned(rag, reader) else {}


def reader_model(rag: dict, corpus: str, reader: str) -> str:
    """The sentence reader's bi-encoder, or the extractive reader's weights (fine-tuned here or as configured)."""
    if reader == "sentence":
        return rag["encoder"]
    if reader_is_fine_tuned(rag, reader):
        return fine_tuned_reader(corpus)
    return rag["reader"]["model"]


def reader_options(rag: dict) -> dict:
    """Extractive reader decoding options: everything in rag.reader but weights, training,
    the sentence guide, the rank prior and answer aggregation (training picks its best epoch
    by span decoding in the gold passage, so changing any of them re-reads without
    re-training)."""
    excluded = (
        "model",
        "fine_tune",
        "training",
        "synthetic",
        "ablation",
        "sentence_guide",
        "rank_prior",
        "aggregate_answers",
        "sentence_fallback",
        "sentence_lexical_weight",
    )
    return {k: v for k, v in rag["reader"].items() if k not in excluded}


def read_options(rag: dict, reader: str) -> dict:
    """The read rule's options for ``reader``: :func:`reader_options` and ``lexical_weight``
    (how sentences are matched to the question), and for the extractive reader
    ``sentence_guide``: the bi-encoder (rag.encoder) choosing the sentence the span is read
    from, or None, ``rank_prior``, ``aggregate_answers`` and ``sentence_fallback``."""
    sentence_matching = {"lexical_weight": rag["reader"]["sentence_lexical_weight"]}
    if reader != "extractive":
        return {**reader_options(rag), **sentence_matching}
    guide = rag["encoder"] if rag["reader"]["sentence_guide"] else None
    return {
        **reader_options(rag),
        **sentence_matching,
        "sentence_guide": guide,
        "rank_prior": rag["reader"]["rank_prior"],
        "aggregate_answers": rag["reader"]["aggregate_answers"],
        "sentence_fallback": rag["reader"]["sentence_fallback"],
    }


def evaluate_inputs(rag: dict) -> dict:
    root = rag_dir(rag)
    return {
        "questions": f"{root}/questions.jsonl",
        "passages": f"{root}/passages.jsonl",
        "rankings": f"{root}/rankings.parquet",
        "answers": [f"{root}/answers/{reader}.parquet" for reader in rag["readers"]],
    }


def report_inputs(rag: dict) -> dict:
    """Files of experiment 3 the report reads, keyed as report/sections.py expects."""
    root = rag_dir(rag)
    inputs = {f"rag_{k}": v for k, v in SUMMARY_FILES.items()}
    inputs.update(
        {
            "rag_stats": f"{root}/stats.json",
            "rag_issues": f"{root}/issues.tsv",
            "rag_fusion": f"{root}/fusion_weight.tsv",
        }
    )
    if rag["reader"]["fine_tune"] and "extractive" in rag["readers"]:
        inputs["rag_reader_epochs"] = f"{root}/reader/epochs.tsv"
    if (reader_uses_synthetic(rag) and "extractive" in rag["readers"]) or (
        retriever_uses_synthetic(rag) and "dense_finetuned" in rag_base_retrievers(rag)
    ):
        synthetic = synthetic_files(rag["corpus"]["name"])
        inputs["rag_synthetic_stats"] = synthetic["stats"]
        inputs["rag_synthetic_sample"] = synthetic["sample"]
    if "dense_finetuned" in rag_base_retrievers(rag):
        inputs["rag_retriever_epochs"] = f"{root}/retriever/epochs.tsv"
    if ablation_enabled(rag) and "extractive" in rag["readers"]:
        ablation = ablation_summary_files(rag["corpus"]["name"])
        inputs["rag_reader_ablation"] = ablation["table"]
        inputs["rag_reader_ablation_plot"] = ablation["plot"]
    return inputs
