"""Rule inputs and result paths of experiment 3 from the config alone."""

import copy

import pytest
import yaml

from medlab.rag import layout


@pytest.fixture(scope="module")
def rag(root):
    return yaml.safe_load((root / "config.yaml").read_text())["rag"]


def test_index_inputs_follow_the_configured_methods(rag):
    assert layout.index_inputs(rag, "c") == {
        "bm25": "results/rag/c/index/bm25_bm25s.pkl",
        "dense": "results/rag/c/index/dense_base_flat.faiss",
        "dense_finetuned": "results/rag/c/index/dense_finetuned_flat.faiss",
        "finetuned_encoder": "results/rag/c/retriever/model",
    }
    only_bm25 = {**copy.deepcopy(rag), "retrievers": ["bm25"]}
    assert layout.index_inputs(only_bm25, "c") == {"bm25": "results/rag/c/index/bm25_bm25s.pkl"}


def test_reader_models_and_inputs(rag):
    assert layout.reader_model(rag, "c", "sentence") == rag["encoder"]
    assert layout.reader_model(rag, "c", "extractive") == "results/rag/c/reader/model"
    assert layout.reader_input(rag, "c", "sentence") == {}
    as_configured = copy.deepcopy(rag)
    as_configured["reader"]["fine_tune"] = False
    assert layout.reader_model(as_configured, "c", "extractive") == rag["reader"]["model"]
    assert "training" not in layout.reader_options(rag) and "max_length" in layout.reader_options(
        rag
    )


def test_corpus_inputs_by_format(rag):
    assert set(layout.corpus_inputs(rag, dataset_file=None)) == {"documents", "questions"}
    squad = copy.deepcopy(rag)
    squad["corpus"].update(format="squad", dataset="covid_qa")
    assert layout.corpus_inputs(squad, lambda key: f"results/data/{key}/x.json") == {
        "file": "results/data/covid_qa/x.json"
    }


def test_report_inputs_name_every_summary_file(rag):
    inputs = layout.report_inputs(rag)
    assert {f"rag_{key}" for key in layout.SUMMARY_FILES} <= set(inputs)
    assert inputs["rag_stats"] == "results/rag/covid_qa_slice/stats.json"
    assert {"rag_reader_epochs", "rag_retriever_epochs"} <= set(inputs)


def test_the_sentence_guide_reaches_the_extractive_reading_only(rag):
    """The guide is a reading option: the extractive read job gets its bi-encoder, training
    does not see it (turning it on re-reads, it does not re-train)."""
    assert rag["reader"]["sentence_guide"] is True
    assert layout.read_options(rag, "extractive")["sentence_guide"] == rag["encoder"]
    assert "sentence_guide" not in layout.read_options(rag, "sentence")
    assert "sentence_guide" not in layout.reader_options(rag)
    unguided = copy.deepcopy(rag)
    unguided["reader"]["sentence_guide"] = False
    assert layout.read_options(unguided, "extractive")["sentence_guide"] is None


@pytest.mark.parametrize(("key", "value"), [("rank_prior", 1.5), ("sentence_fallback", 0.3)])
def test_decoding_options_reach_the_extractive_reading_never_its_training(rag, key, value):
    assert key not in layout.reader_options(rag)
    changed = copy.deepcopy(rag)
    changed["reader"][key] = value
    assert layout.read_options(changed, "extractive")[key] == value
    assert key not in layout.read_options(changed, "sentence")


def test_answer_aggregation_reaches_the_extractive_reading_never_its_training(rag):
    assert "aggregate_answers" not in layout.reader_options(rag)
    for value in (False, True):
        changed = copy.deepcopy(rag)
        changed["reader"]["aggregate_answers"] = value
        assert layout.read_options(changed, "extractive")["aggregate_answers"] is value
        assert "aggregate_answers" not in layout.read_options(changed, "sentence")


def test_the_sentence_lexical_weight_reaches_both_readers_never_training(rag):
    assert "sentence_lexical_weight" not in layout.reader_options(rag)
    changed = copy.deepcopy(rag)
    changed["reader"]["sentence_lexical_weight"] = 3.0
    for reader in ("sentence", "extractive"):
        assert layout.read_options(changed, reader)["lexical_weight"] == 3.0
