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


def with_ablation(rag, curve=(400, 100)):
    enabled = copy.deepcopy(rag)
    enabled["reader"]["ablation"] = {"enabled": True, "curve": list(curve)}
    return enabled


def test_the_ablation_is_off_by_default_and_adds_nothing(rag):
    assert layout.ablation_variants(rag) == []
    assert not any("ablation" in key for key in layout.report_inputs(rag))


def test_ablation_readers_and_how_their_training_differs(rag):
    ablation = with_ablation(rag)
    assert layout.ablation_variants(ablation) == [
        "gold_only",
        "synthetic_only",
        "synthetic_100",
        "synthetic_400",
    ]
    gold, synthetic = rag["reader"]["training"]["epochs"], rag["reader"]["synthetic"]["epochs"]
    assert layout.ablation_stages(ablation, "gold_only") == {
        "gold_epochs": gold,
        "synthetic_epochs": 0,
        "synthetic_questions": 0,
    }
    assert layout.ablation_stages(ablation, "synthetic_only") == {
        "gold_epochs": 0,
        "synthetic_epochs": synthetic,
        "synthetic_questions": None,
    }
    assert layout.ablation_stages(ablation, "synthetic_100") == {
        "gold_epochs": gold,
        "synthetic_epochs": synthetic,
        "synthetic_questions": 100,
    }
    with pytest.raises(ValueError, match="synthetic_7"):
        layout.ablation_stages(ablation, "synthetic_7")
    # only the readers with a synthetic stage read the synthetic questions
    assert layout.ablation_variant_input(ablation, "c", "gold_only") == {}
    assert layout.ablation_variant_input(ablation, "c", "synthetic_100") == {
        "synthetic": "results/rag/c/synthetic/questions.jsonl"
    }


def test_ablation_inputs_and_report_files(rag):
    ablation = with_ablation(rag, curve=[50])
    inputs = layout.ablation_inputs(ablation, "c")
    assert inputs["scores"] == [
        f"results/rag/c/ablation/{v}/scores.json"
        for v in ("gold_only", "synthetic_only", "synthetic_50")
    ]
    assert inputs["model"] == "results/rag/c/reader/model"  # the configured reader, not retrained
    report = layout.report_inputs(ablation)
    assert report["rag_reader_ablation"] == "results/rag/covid_qa_slice/ablation/summary.tsv"
    assert report["rag_reader_ablation_plot"].endswith("ablation/learning_curve.png")


def test_ablation_settings_never_reach_the_configured_readers_training(rag):
    """Turning the ablation on, or editing its curve, retrains none of the configured readers."""
    ablation = with_ablation(rag)
    assert layout.reader_options(ablation) == layout.reader_options(rag)
    assert layout.read_options(ablation, "extractive") == layout.read_options(rag, "extractive")
    assert layout.synthetic_settings(ablation) == layout.synthetic_settings(rag)
    assert layout.synthetic_epochs(ablation) == layout.synthetic_epochs(rag)
