"""Two-stage fine-tuning on a tiny real corpus: synthetic questions first, then gold; the
retriever with the synthetic pairs added. Packaged MiniLM, 64-token windows, one epoch
per stage."""

import dataclasses
import logging

import pytest
import torch

from medlab.rag import retriever_training, training
from medlab.rag.synthetic import synthesize
from medlab.rag.training import (
    ReaderCheckpoint,
    ReaderTrainingSpec,
    evaluate_reader_on_gold,
    train_reader,
)
from rag.tiny_corpus import tiny_corpus

MODEL = "packaged:all-MiniLM-L6-v2"
SPEC = ReaderTrainingSpec(
    epochs=1,
    batch_size=4,
    lr=1e-4,
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_length=64,
    stride=16,
    negatives_per_question=1,
    seed=0,
)


@pytest.fixture(scope="module")
def corpus():
    prepared = tiny_corpus()
    by_split = {
        name: [q for q in prepared.questions if prepared.split_of[q.doc_id] == name][:4]
        for name in ("train", "dev")
    }
    synthetic, _ = synthesize(prepared.passages, prepared.splits["train"], 2, 6, seed=0)
    return prepared, by_split["train"], by_split["dev"], synthetic


def train(corpus, synthetic_epochs=1, synthetic_negatives=None, spec=SPEC, **resumable):
    """``resumable``: train_reader's checkpoint_path and stop_after_epochs."""
    torch.set_num_threads(1)
    prepared, train_questions, dev, synthetic = corpus
    return train_reader(
        MODEL,
        train_questions,
        dev,
        prepared.passages,
        spec,
        torch.device("cpu"),
        {"batch_size": 8},
        synthetic,
        synthetic_epochs,
        synthetic_negatives,
        **resumable,
    )


def train_recording_examples(corpus, **options):
    """A two-stage run with the examples each stage built: (reader, epoch log, examples)."""
    _, _, _, synthetic = corpus
    examples = {}
    original = training.reader_examples

    def recording(questions, passages, negatives_per_question, seed):
        made = original(questions, passages, negatives_per_question, seed)
        examples["synthetic" if questions is synthetic else "gold"] = made
        return made

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "reader_examples", recording)
        reader, epochs = train(corpus, **options)
    return reader, epochs, examples


@pytest.fixture(scope="module")
def two_stage(corpus):
    return train_recording_examples(corpus)


def without_answer(examples) -> int:
    """Negative examples: passages that lack the answer (target [CLS])."""
    return sum(start < 0 for _, _, start, _ in examples)


def test_stages_run_in_order_with_one_epoch_numbering(two_stage):
    _, epochs, _ = two_stage
    assert epochs["stage"].tolist() == ["synthetic", "gold"]
    assert epochs["epoch"].tolist() == [1, 2]
    assert list(epochs.columns[:2]) == ["epoch", "stage"]


def test_the_kept_weights_are_the_best_dev_epoch(corpus, two_stage):
    prepared, _, dev, _ = corpus
    reader, epochs, _ = two_stage
    kept = evaluate_reader_on_gold(reader, dev, prepared.passages)["f1"]
    assert kept == pytest.approx(epochs["dev_f1"].max())


def test_same_seed_same_result(corpus, two_stage):
    _, again = train(corpus)
    assert again[["train_loss", "dev_f1"]].equals(two_stage[1][["train_loss", "dev_f1"]])


def test_synthetic_questions_take_the_gold_negative_count_unless_set(corpus, two_stage):
    examples = two_stage[2]
    # SPEC gives every question one negative passage; by default synthetic ones too
    assert without_answer(examples["synthetic"]) == len(examples["synthetic"]) / 2
    _, _, alone = train_recording_examples(corpus, synthetic_negatives=0)
    assert without_answer(alone["synthetic"]) == 0
    assert len(alone["synthetic"]) == len(examples["synthetic"]) / 2
    assert without_answer(alone["gold"]) == without_answer(examples["gold"]) > 0


def test_without_synthetic_epochs_only_the_gold_stage_runs(corpus):
    _, epochs = train(corpus, synthetic_epochs=0)
    assert epochs["stage"].tolist() == ["gold"] and epochs["epoch"].tolist() == [1]


def test_no_dev_or_test_text_in_the_synthetic_training_examples(corpus, two_stage):
    prepared = corpus[0]
    examples = two_stage[2]["synthetic"]
    texts_by_split = {"train": [], "held out": []}
    for doc_id, text in prepared.documents.items():
        split = "train" if prepared.split_of[doc_id] == "train" else "held out"
        texts_by_split[split].append(text)
    assert any(e[2] == -1 for e in examples)  # negative passages are checked too
    for _, passage, _, _ in examples:
        assert any(passage in text for text in texts_by_split["train"])
        assert not any(passage in text for text in texts_by_split["held out"])


def test_retriever_trains_on_gold_and_synthetic_pairs(corpus):
    torch.set_num_threads(1)
    prepared, train_questions, _, synthetic = corpus
    options = {"enabled": True, "epochs": 1, "batch_size": 4, "lr": 2e-5}
    options |= {"warmup_ratio": 0.1, "hard_negatives": True, "synthetic": True, "seed": 0}
    gold_pairs = retriever_training.retriever_pairs(train_questions, prepared.passages)
    synthetic_pairs = retriever_training.retriever_pairs(synthetic, prepared.passages)
    _, with_synthetic = retriever_training.fine_tune_retriever(
        MODEL, prepared.passages, train_questions, options, "bm25s", torch.device("cpu"), synthetic
    )
    assert with_synthetic["pairs"].tolist() == [len(gold_pairs) + len(synthetic_pairs)]
    assert len(synthetic_pairs) > 0
    _, gold_only = retriever_training.fine_tune_retriever(
        MODEL, prepared.passages, train_questions, options, "bm25s", torch.device("cpu")
    )
    assert gold_only["pairs"].tolist() == [len(gold_pairs)]


# ---- resuming from a checkpoint: one synthetic epoch, then two gold ones ----------------

TWO_GOLD_EPOCHS = dataclasses.replace(SPEC, epochs=2)
LOGGED = ["epoch", "stage", "train_loss", "dev_exact_match", "dev_f1"]  # not the timings


@pytest.fixture(scope="module")
def uninterrupted(corpus):
    reader, epochs = train(corpus, spec=TWO_GOLD_EPOCHS)
    return {k: v.clone() for k, v in reader.model.state_dict().items()}, epochs


def assert_same_training(resumed, uninterrupted):
    (reader, epochs), (weights, expected) = resumed, uninterrupted
    assert epochs[LOGGED].equals(expected[LOGGED])
    for name, value in reader.model.state_dict().items():
        assert torch.equal(value, weights[name]), name


def test_a_training_killed_between_the_stages_resumes_to_the_uninterrupted_result(
    corpus, uninterrupted, tmp_path, caplog
):
    """A kill inside a stage, where the stage's optimizer must be restored too, is the
    inside-an-epoch test's."""
    killed_after = 1
    checkpoint = tmp_path / "checkpoint.pt"
    _, partial = train(
        corpus, spec=TWO_GOLD_EPOCHS, checkpoint_path=checkpoint, stop_after_epochs=killed_after
    )
    assert partial["epoch"].tolist() == list(range(1, killed_after + 1))
    assert checkpoint.exists()
    with caplog.at_level(logging.INFO, logger="medlab.rag.training"):
        resumed = train(corpus, spec=TWO_GOLD_EPOCHS, checkpoint_path=checkpoint)
    assert f"after epoch {killed_after}" in caplog.text
    assert_same_training(resumed, uninterrupted)


def test_a_checkpoint_of_another_training_is_ignored(corpus, uninterrupted, tmp_path, caplog):
    checkpoint = tmp_path / "checkpoint.pt"
    other = dataclasses.replace(TWO_GOLD_EPOCHS, lr=5e-5)
    train(corpus, spec=other, checkpoint_path=checkpoint, stop_after_epochs=1)
    with caplog.at_level(logging.INFO, logger="medlab.rag.training"):
        restarted = train(corpus, spec=TWO_GOLD_EPOCHS, checkpoint_path=checkpoint)
    assert "written for another model, spec, decoding or data" in caplog.text
    assert_same_training(restarted, uninterrupted)


class Killed(Exception):
    """Stands for the process dying right after a checkpoint was written."""


def test_a_training_killed_inside_an_epoch_resumes_to_the_uninterrupted_result(
    corpus, uninterrupted, tmp_path, caplog
):
    """Saved every step, killed after the second step of the first gold epoch (epoch 2)."""
    checkpoint = tmp_path / "checkpoint.pt"
    original = ReaderCheckpoint.save

    def save_then_die(self, reader, optimizer, scheduler, generator, best, progress):
        original(self, reader, optimizer, scheduler, generator, best, progress)
        inside = progress["inside_epoch"]
        if progress["epoch"] == 1 and inside and inside["steps"] == 2:
            raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReaderCheckpoint, "save", save_then_die)
        with pytest.raises(Killed):
            train(
                corpus, spec=TWO_GOLD_EPOCHS, checkpoint_path=checkpoint, checkpoint_every_steps=1
            )
    with caplog.at_level(logging.INFO, logger="medlab.rag.training"):
        resumed = train(
            corpus, spec=TWO_GOLD_EPOCHS, checkpoint_path=checkpoint, checkpoint_every_steps=1
        )
    assert "after epoch 1 and 2 steps of the next" in caplog.text
    assert_same_training(resumed, uninterrupted)
