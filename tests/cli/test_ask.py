"""`medlab ask` and its library part (medlab.rag.ask) on a finished RAG run built here.

The run directory is written by the same library calls the workflow's adapters make
(corpus -> BM25 and dense indexes -> reader fine-tuning), on 6 of the authored documents,
so it has the workflow's layout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from medlab.cli import main
from medlab.rag import ask as rag_ask
from medlab.rag.ask import DEFAULT_ENCODER, available_methods, open_run
from medlab.rag.corpus import load_corpus, read_questions
from medlab.rag.passages import prepare_corpus, write_prepared_corpus
from medlab.rag.retrieval import (
    DenseFaiss,
    build_bm25_index,
    load_sentence_encoder,
    save_bm25_index,
    save_dense_index,
)
from medlab.rag.training import fine_tune_reader, save_reader

ROOT = Path(__file__).resolve().parents[2]
CORPUS = "health_ai"
QUESTION = "How large can whole-slide images be at the highest magnification?"
READER_OPTIONS = {
    "max_length": 64,
    "stride": 16,
    "max_answer_tokens": 30,
    "batch_size": 16,
    "allow_no_answer": False,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A finished run of the corpus: passages, BM25 and dense indexes, a fine-tuned reader."""
    torch.set_num_threads(1)
    results = tmp_path_factory.mktemp("run") / "results"
    run = results / "rag" / CORPUS
    corpus = load_corpus(
        "jsonl",
        {
            "documents": ROOT / "resources/rag/documents.jsonl",
            "questions": ROOT / "resources/rag/questions.jsonl",
        },
    )
    prepared = prepare_corpus(corpus, 80, 20, [0.5, 0.2, 0.3], 0, 6)
    (run / "index").mkdir(parents=True)
    write_prepared_corpus(
        prepared,
        *(run / name for name in ("documents.jsonl", "questions.jsonl", "passages.jsonl")),
        run / "issues.tsv",
        run / "stats.json",
    )
    texts = [p.text for p in prepared.passages]
    save_bm25_index(build_bm25_index(texts, "bm25s"), run / "index/bm25_bm25s.pkl")
    dense = DenseFaiss(load_sentence_encoder(DEFAULT_ENCODER), texts, "flat")
    save_dense_index(dense, run / "index/dense_base_flat.faiss")
    train, _ = read_questions(run / "questions.jsonl", splits={"train"})
    dev, _ = read_questions(run / "questions.jsonl", splits={"dev"})
    reader, _ = fine_tune_reader(
        DEFAULT_ENCODER,
        prepared.passages,
        train,
        dev,
        READER_OPTIONS,
        {
            "epochs": 1,
            "batch_size": 8,
            "lr": 1e-4,
            "warmup_ratio": 0.1,
            "weight_decay": 0.01,
            "negatives_per_question": 1,
            "seed": 0,
        },
        torch.device("cpu"),
    )
    save_reader(reader, run / "reader/model")
    return results


def ask(capsys, *argv) -> tuple[int, str, str]:
    code = main(["ask", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_run_offers_fusion_first(results):
    assert available_methods(open_run(results, CORPUS)) == [
        "hybrid_rrf",
        "hybrid_weighted",
        "bm25",
        "dense",
    ]


def test_the_answer_comes_from_one_of_the_printed_passages(results, capsys):
    code, out, err = ask(capsys, "--results", str(results), "--corpus", CORPUS, QUESTION)
    assert code == 0, err
    head, table = out.split("Top passages (hybrid_rrf):")
    source_document = head.split("From: document ")[1].split(",")[0]
    assert head.startswith("Answer: ") and "Confidence: " in head
    rows = table.strip().splitlines()[1:]
    assert len(rows) == 5 and [row.split()[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert source_document in {row.split()[2] for row in rows}
    # the gold document of the question is ranked first
    assert rows[0].split()[2] == "pathology"


def test_json_output_has_every_field(results, capsys):
    code, out, err = ask(
        capsys,
        *("--results", str(results), "--method", "bm25", "--reader", "sentence"),
        *("--top-k", "3", "--json", QUESTION),
    )
    assert code == 0, err
    record = json.loads(out)
    assert record["method"] == "bm25" and record["reader"] == "sentence"
    answer = record["answer"]
    assert set(answer) == {"text", "confidence", "passage_id", "doc_id", "passage_rank", "passage"}
    assert answer["text"] and answer["text"] in answer["passage"] and 0 <= answer["confidence"] <= 1
    passages = record["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert set(passages[0]) == {"rank", "score", "passage_id", "doc_id", "text"}
    assert passages[answer["passage_rank"] - 1]["passage_id"] == answer["passage_id"]


def bm25_answer(capsys, results, *argv) -> dict:
    """The JSON answer of ``medlab ask --method bm25`` with ``argv``, which must succeed."""
    code, out, err = ask(
        capsys, "--results", str(results), "--method", "bm25", "--json", *argv, QUESTION
    )
    assert code == 0, err
    return json.loads(out)["answer"]


def test_the_extractive_answer_lies_in_the_sentence_readers_sentence_unless_unguided(
    results, capsys
):
    def answer(*argv):
        return bm25_answer(capsys, results, *argv)

    sentence = answer("--reader", "sentence")
    guided = answer("--reader", "extractive")
    assert guided["passage_id"] == sentence["passage_id"]
    assert guided["text"] in sentence["text"] and guided["confidence"] <= sentence["confidence"]
    unguided = answer("--reader", "extractive", "--no-sentence-guide")
    assert unguided["text"] and unguided["text"] in unguided["passage"]
    single_span = answer("--reader", "extractive", "--no-aggregate-answers")
    assert single_span["passage_id"] == sentence["passage_id"]
    assert single_span["text"] in sentence["text"]
    # the answer the most candidate mass agrees on has at least the best single span's mass
    assert guided["confidence"] >= single_span["confidence"] - 1e-9


def test_sentence_fallback_1_answers_with_the_sentence_and_a_bad_value_exits_2(results, capsys):
    def answer(*argv):
        return bm25_answer(capsys, results, *argv)

    sentence = answer("--reader", "sentence")
    spans = answer("--reader", "extractive", "--sentence-fallback", "0")
    assert spans["text"] in sentence["text"]
    # the span's answer mass (its confidence over the sentence's) is below 1: at
    # --sentence-fallback 1 the whole sentence answers, with the same confidence
    assert spans["confidence"] < sentence["confidence"]
    whole = answer("--reader", "extractive", "--sentence-fallback", "1")
    assert whole["text"] == sentence["text"] and whole["confidence"] == spans["confidence"]
    for bad in ("1.5", "-0.1", "half"):
        code, out, err = ask(
            capsys, "--results", str(results), "--sentence-fallback", bad, QUESTION
        )
        assert code == 2 and out == "" and "--sentence-fallback" in err


@pytest.mark.parametrize(
    ("removed", "argv", "target"),
    [
        (
            "index/bm25_bm25s.pkl",
            ["--method", "bm25"],
            "results/rag/health_ai/index/bm25_bm25s.pkl",
        ),
        (
            "index/dense_base_flat.faiss",
            ["--method", "dense"],
            "results/rag/health_ai/index/dense_base_flat.faiss",
        ),
        ("reader/model", [], "results/rag/health_ai/reader/model"),
        ("passages.jsonl", [], "results/rag/health_ai/passages.jsonl"),
    ],
)
def test_a_missing_file_exits_2_naming_it_and_the_command(
    results, tmp_path, capsys, removed, argv, target
):
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    missing = copy / "rag" / CORPUS / removed
    shutil.rmtree(missing) if missing.is_dir() else missing.unlink()
    code, out, err = ask(capsys, "--results", str(copy), *argv, QUESTION)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("medlab ask: error: missing ")
    assert str(missing) in err and f"snakemake --cores 2 {target}" in err


def test_an_unknown_corpus_exits_2_naming_the_ones_there(results, capsys):
    code, out, err = ask(capsys, "--results", str(results), "--corpus", "covid_qa", QUESTION)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "'covid_qa'" in err and "corpora there: health_ai" in err


def test_a_results_directory_without_runs_exits_2(tmp_path, capsys):
    code, _, err = ask(capsys, "--results", str(tmp_path), QUESTION)
    assert code == 2 and "corpora there: none" in err


def test_a_negative_lexical_weight_exits_2(results, capsys):
    code, out, err = ask(capsys, "--results", str(results), "--lexical-weight", "-0.5", QUESTION)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--lexical-weight -0.5" in err


def test_the_lexical_weight_reaches_the_sentence_readers_score(results, capsys):
    """Cosine alone and, nearly, word coverage alone score the answer differently; both
    answer with a sentence of a read passage."""
    cosine = bm25_answer(capsys, results, "--reader", "sentence", "--lexical-weight", "0")
    covered = bm25_answer(capsys, results, "--reader", "sentence", "--lexical-weight", "100")
    for answer in (cosine, covered):
        assert answer["text"] in answer["passage"]
    assert covered["confidence"] != cosine["confidence"]


def test_the_extractive_reader_reads_at_the_window_the_run_trained_it_at(
    results, capsys, monkeypatch
):
    """The run's rag.reader.max_length and stride (64 / 16 here), not the reader class's
    defaults (384 / 128): the same cut of passages into windows as the pipeline's reading."""
    built = []

    def recording(name, model, device, options):
        built.append(original(name, model, device, options))
        return built[-1]

    original = rag_ask.load_reader
    monkeypatch.setattr(rag_ask, "load_reader", recording)
    bm25_answer(capsys, results)
    assert [(r.max_length, r.stride) for r in built] == [
        (READER_OPTIONS["max_length"], READER_OPTIONS["stride"])
    ]


def test_top_k_below_1_exits_2(results, capsys):
    code, _, err = ask(capsys, "--results", str(results), "--top-k", "0", QUESTION)
    assert code == 2 and "--top-k 0" in err
