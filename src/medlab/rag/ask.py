"""One question answered from a finished run of experiment 3: the run's passages, cached
indexes and reader, found where the pipeline wrote them (results/rag/<corpus>/), retrieved
and read with the same functions the workflow's retrieve and read jobs call.

Paths are the pipeline's own (``results/rag/<corpus>/...``, from :mod:`medlab.rag.layout`)
re-rooted at the results directory given, so a missing file is reported together with the
Snakemake target that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medlab.rag import layout
from medlab.rag.fusion import chosen_weight
from medlab.rag.passages import Passage, read_passages
from medlab.rag.readers import Answer, load_reader, saved_reader_window
from medlab.rag.retrieval import (
    BM25_LIBRARIES,
    DENSE_INDEX_KINDS,
    load_bm25_index,
    load_dense_index,
    retrieve_all,
)

PIPELINE_RESULTS = Path("results")
# rag.encoder's default: the encoder of the base dense index and the sentence reader
DEFAULT_ENCODER = "packaged:all-MiniLM-L6-v2"
# methods that need nothing beyond the run's own files, best first: a fusion over the
# fine-tuned dense index when the run has one, else over the base one. hybrid_rerank is
# left out: its cross-encoder is a hub model the run does not store.
ASK_METHODS = ("hybrid_rrf", "hybrid_weighted", "bm25", "dense_finetuned", "dense")
READER_NAMES = ("extractive", "sentence")
# below this answer mass the guided reader answers with the whole sentence; 0 (never) as
# rag.reader.sentence_fallback's default, null
DEFAULT_SENTENCE_FALLBACK = 0.0
# rag.reader.sentence_lexical_weight's default: how much the coverage of the question's words
# counts against the cosine when a sentence is matched to the question
DEFAULT_LEXICAL_WEIGHT = 1.0
# rag.hybrid defaults (candidates per ranking, RRF constant, BM25 weight of weighted fusion
# when the run's fusion_weight.tsv is missing)
HYBRID_DEFAULTS = {"candidates": 50, "rrf_constant": 60, "bm25_weight": 0.5, "tune_weight": False}


class AskInputError(ValueError):
    """A corpus, file or option that is not in the run; the message names it and the remedy."""


@dataclass(frozen=True)
class FinishedRun:
    """The files of one corpus under a results directory (``results`` in the pipeline)."""

    results: Path
    corpus: str

    def path(self, target: str) -> Path:
        """Where the pipeline path ``target`` (``results/rag/...``) lies under ``results``."""
        return self.results / Path(target).relative_to(PIPELINE_RESULTS)

    def require(self, target: str) -> Path:
        """The file or directory of ``target``.

        Raises:
            AskInputError: naming the missing path and the command that builds it.
        """
        path = self.path(target)
        if not path.exists():
            raise AskInputError(f"missing {path}; build it with: snakemake --cores 2 {target}")
        return path

    @property
    def root(self) -> str:
        """The corpus directory as the pipeline names it, results/rag/<corpus>."""
        return layout.rag_dir({"corpus": {"name": self.corpus}})


def corpora(results: Path) -> list[str]:
    """Corpora with a run directory under ``results``/rag."""
    rag_results = Path(results) / "rag"
    return sorted(p.name for p in rag_results.glob("*") if p.is_dir() and p.name != "summary")


def open_run(results: Path, corpus: str | None) -> FinishedRun:
    """The run of ``corpus`` under ``results``; with ``corpus`` None, the only one there.

    Raises:
        AskInputError: when the results directory has no such corpus, or several and none
            was named (naming those it has).
    """
    found = corpora(results)
    if corpus is None and len(found) == 1:
        corpus = found[0]
    if corpus is None or corpus not in found:
        what = "no corpus given" if corpus is None else f"no RAG run for corpus {corpus!r}"
        raise AskInputError(
            f"{what} under {Path(results) / 'rag'} (corpora there: {', '.join(found) or 'none'}); "
            "pass --corpus with one of them, --results with the run's results directory, "
            "or build the configured corpus with: snakemake --cores 2 report"
        )
    return FinishedRun(Path(results), corpus)


def _index_settings(run: FinishedRun) -> dict:
    """rag.bm25_library and rag.dense_index as the run built them (the first found in each
    registry's order), else the config defaults, so a missing index is named as the
    default configuration would build it."""
    index = run.path(f"{run.root}/index")
    libraries = [n for n in BM25_LIBRARIES if (index / f"bm25_{n}.pkl").exists()]
    kinds = [k for k in DENSE_INDEX_KINDS if list(index.glob(f"dense_*_{k}.faiss"))]
    return {"bm25_library": (libraries or ["bm25s"])[0], "dense_index": (kinds or ["flat"])[0]}


def _method_settings(run: FinishedRun, method: str) -> dict:
    """The ``rag`` settings that retrieve with ``method`` alone: its indexes, the fusion."""
    indexes = _index_settings(run)
    fine_tuned = layout.index_inputs({**indexes, "retrievers": ["dense_finetuned"]}, run.corpus)
    has_fine_tuned = all(run.path(p).exists() for p in fine_tuned.values())
    return {
        **indexes,
        "retrievers": [method],
        "hybrid": {**HYBRID_DEFAULTS, "dense": "dense_finetuned" if has_fine_tuned else "dense"},
    }


def method_files(run: FinishedRun, method: str) -> dict[str, str]:
    """Pipeline paths of the files ``method`` searches (index name -> path)."""
    return layout.index_inputs(_method_settings(run, method), run.corpus)


def available_methods(run: FinishedRun) -> list[str]:
    """The methods of ASK_METHODS whose files the run has, best first."""
    return [
        m for m in ASK_METHODS if all(run.path(p).exists() for p in method_files(run, m).values())
    ]


def choose_method(run: FinishedRun, method: str | None) -> str:
    """``method``, or the best available (a fusion where the run allows it); bm25 when the
    run has no index at all, so that :func:`required_method_files` names the BM25 index.

    Raises:
        AskInputError: for a method ``ask`` does not offer.
    """
    if method is None:
        available = available_methods(run)
        return available[0] if available else "bm25"
    if method not in ASK_METHODS:
        raise AskInputError(f"--method {method!r}: expected one of {', '.join(ASK_METHODS)}")
    return method


def required_method_files(run: FinishedRun, method: str) -> dict[str, Path]:
    """The files ``method`` searches (index name -> path under the results directory).

    Raises:
        AskInputError: naming the first missing index or encoder and the command building it.
    """
    return {name: run.require(path) for name, path in method_files(run, method).items()}


def load_retrievers(files: dict[str, Path], encoder: str, batch_size: int = 32) -> dict:
    """Searchable indexes (bm25 / dense / dense_finetuned -> index) from the files of
    :func:`required_method_files`; ``encoder`` encodes queries for the base dense index."""
    retrievers = {}
    if "bm25" in files:
        retrievers["bm25"] = load_bm25_index(files["bm25"])
    if "dense" in files:
        retrievers["dense"] = load_dense_index(files["dense"], encoder, batch_size)
    if "dense_finetuned" in files:
        retrievers["dense_finetuned"] = load_dense_index(
            files["dense_finetuned"], str(files["finetuned_encoder"]), batch_size
        )
    return retrievers


def hybrid_settings(run: FinishedRun, method: str) -> dict:
    """rag.hybrid for ``method``, with the BM25 weight the run chose on its dev questions
    (fusion_weight.tsv) when it has one."""
    hybrid = dict(_method_settings(run, method)["hybrid"])
    fusion_table = run.path(f"{run.root}/fusion_weight.tsv")
    if fusion_table.exists():
        hybrid["bm25_weight"] = chosen_weight(pd.read_csv(fusion_table, sep="\t"))
    return hybrid


def reader_model(run: FinishedRun, reader: str, encoder: str) -> str:
    """The extractive reader's fine-tuned weights (a path), or the sentence reader's encoder.

    Raises:
        AskInputError: for an unknown reader, or a missing fine-tuned reader.
    """
    if reader not in READER_NAMES:
        raise AskInputError(f"--reader {reader!r}: expected one of {', '.join(READER_NAMES)}")
    if reader == "sentence":
        return encoder
    return str(run.require(layout.fine_tuned_reader(run.corpus)))


@dataclass(frozen=True)
class AskResult:
    """An answer and the ranked passages it was read from."""

    question: str
    method: str
    answer: Answer  # answer.passage indexes ``passages``' source list; -1: no answer
    ranking: list[tuple[int, float]]  # (passage index, retrieval score), best first
    passages: list[Passage]  # every passage of the corpus, in index order

    @property
    def source(self) -> Passage | None:
        """The passage the answer was read from (None when the reader gave no answer)."""
        return self.passages[self.answer.passage] if self.answer.passage >= 0 else None

    @property
    def source_rank(self) -> int | None:
        """1-based rank of the answer's passage in the ranking (None without an answer)."""
        ranked = [index for index, _ in self.ranking]
        return ranked.index(self.answer.passage) + 1 if self.answer.passage in ranked else None


def answer_question(
    question: str,
    passages: list[Passage],
    retrievers: dict,
    method: str,
    hybrid: dict,
    reader,
    top_k: int,
) -> AskResult:
    """Rank the passages with ``method``, read the ``top_k`` best with ``reader``.

    ``retrievers`` maps bm25 / dense / dense_finetuned to indexes (see :func:`load_retrievers`);
    ``reader`` has ``read(question, passage indices, passage texts) -> Answer``.
    """
    texts = [p.text for p in passages]
    ranking = retrieve_all([question], retrievers, [method], top_k, hybrid, None, texts)[method][0]
    answer = reader.read(question, [index for index, _ in ranking], texts)
    return AskResult(question, method, answer, ranking, passages)


def ask(
    results: Path,
    corpus: str | None,
    question: str,
    method: str | None = None,
    reader: str = "extractive",
    top_k: int = 5,
    encoder: str = DEFAULT_ENCODER,
    sentence_guide: bool = True,
    aggregate_answers: bool = True,
    sentence_fallback: float | None = DEFAULT_SENTENCE_FALLBACK,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    device="cpu",
) -> AskResult:
    """Answer ``question`` from the finished run of ``corpus`` under ``results``.

    ``sentence_guide``: the extractive reader reads its span from the sentence that best
    matches the question (``encoder``'s cosine and word coverage, see ``lexical_weight``; as
    rag.reader.sentence_guide);
    ``aggregate_answers``: it answers with the span the most candidate mass agrees on (as
    rag.reader.aggregate_answers); ``sentence_fallback``: guided, it answers with the whole
    sentence when that mass is below this (as rag.reader.sentence_fallback; None: never);
    ``lexical_weight``: the weight of the question words' coverage against the cosine when
    the sentence reader or the guide matches a sentence (as rag.reader.sentence_lexical_weight).

    Raises:
        AskInputError: for an unknown corpus, method or reader, top_k below 1, or a missing
            run file (named, with the Snakemake command that builds it).
    """
    if top_k < 1:
        raise AskInputError(f"--top-k {top_k}: expected a whole number of at least 1")
    if lexical_weight < 0:
        raise AskInputError(f"--lexical-weight {lexical_weight}: expected a number of at least 0")
    run = open_run(results, corpus)
    # every file is checked before any model loads, so a missing one fails at once
    passages_file = run.require(f"{run.root}/passages.jsonl")
    method = choose_method(run, method)
    index_files = required_method_files(run, method)
    model = reader_model(run, reader, encoder)
    return answer_question(
        question,
        read_passages(passages_file),
        load_retrievers(index_files, encoder),
        method,
        hybrid_settings(run, method),
        load_reader(
            reader,
            model,
            device,
            {"batch_size": 32, "lexical_weight": lexical_weight}
            if reader != "extractive"
            else {
                # the window the run trained and read at (the class default for older runs)
                **saved_reader_window(model),
                "batch_size": 32,
                "lexical_weight": lexical_weight,
                "sentence_guide": encoder if sentence_guide else None,
                "aggregate_answers": aggregate_answers,
                "sentence_fallback": sentence_fallback,
            },
        ),
        top_k,
    )
