"""Token windows over whole documents, their logits pooled per document."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from transformers import AutoTokenizer

from medlab.multilabel.synthetic import LABELS, generate_notes
from medlab.multilabel.tokenize import tokenize_table, torch_view
from medlab.multilabel.train import FineTuneSpec, fine_tune, new_classifier, predict_probabilities
from medlab.multilabel.windows import (
    DocumentBatchSampler,
    WindowSpec,
    pool_window_logits,
    tokenize_windows,
    window_starts,
)
from medlab.pretrained import load_pretrained

MODEL = "packaged:all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def tokenizer():
    torch.set_num_threads(1)
    return load_pretrained(AutoTokenizer, MODEL)


@pytest.mark.parametrize("width,stride", [(6, 6), (6, 4), (10, 1), (30, 7)])
def test_windows_cover_every_token(width, stride):
    for tokens in range(1, 80):
        starts = window_starts(tokens, width, stride)
        covered = np.zeros(tokens, dtype=bool)
        for start in starts:
            covered[start : start + width] = True
        assert covered.all()
        assert starts[0] == 0 and starts[-1] + min(width, tokens) == tokens
        assert all(b - a <= stride for a, b in zip(starts, starts[1:]))


def test_a_stride_longer_than_the_window_is_refused():
    with pytest.raises(ValueError, match="stride 9 must be between 1 and the window's 8 tokens"):
        window_starts(20, 8, 9)


def test_tokenized_windows_hold_every_token_of_a_long_document(tokenizer):
    text = " ".join(f"word{i}" for i in range(60))
    table = pd.DataFrame({"id": ["long"], "text": [text], "labels": [["healthy"]]})
    windows = tokenize_windows(
        table, LABELS, tokenizer, WindowSpec(length=24, stride=16, pool="max")
    )
    content = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(windows) == len(window_starts(len(content), 22, 16)) > 1
    seen = set()
    for row in windows:
        ids = [t for t, m in zip(row["input_ids"], row["attention_mask"]) if m][1:-1]
        start = next(i for i in range(len(content)) if content[i : i + len(ids)] == ids)
        seen.update(range(start, start + len(ids)))
        assert row["document"] == "long" and row["window_of"] == 0
    assert seen == set(range(len(content)))


def test_pooling_does_not_depend_on_window_order():
    logits = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    window_of = torch.tensor([4, 1, 4, 4, 1, 9, 4])
    for pool in ("max", "mean"):
        pooled, documents = pool_window_logits(logits, window_of, pool)
        permutation = torch.randperm(7, generator=torch.Generator().manual_seed(1))
        again, _ = pool_window_logits(logits[permutation], window_of[permutation], pool)
        assert documents.tolist() == [1, 4, 9]
        assert torch.allclose(pooled, again)
        expected = (
            logits[window_of == 4].max(0).values
            if pool == "max"
            else logits[window_of == 4].mean(0)
        )
        assert torch.allclose(pooled[1], expected)


def test_a_document_shorter_than_one_window_gets_the_unwindowed_prediction(tokenizer):
    notes = generate_notes(12, seed=0)
    plain = torch_view(tokenize_table(notes, LABELS, tokenizer, 128), list(range(12)))
    windows = tokenize_windows(
        notes, LABELS, tokenizer, WindowSpec(length=128, stride=96, pool="mean")
    )
    assert len(windows) == 12  # one window per note
    windowed = torch_view(windows, list(range(12)))
    assert torch.equal(windowed[:]["input_ids"][:, :40], plain[:]["input_ids"][:, :40])
    torch.manual_seed(0)
    model = new_classifier(MODEL, len(LABELS)).eval()
    cpu = torch.device("cpu")
    expected = predict_probabilities(model, plain, cpu)
    for pool in ("max", "mean"):
        assert np.allclose(
            predict_probabilities(model, windowed, cpu, window_pool=pool), expected, atol=1e-6
        )


def test_document_batches_keep_a_documents_windows_together():
    window_of = [0, 0, 1, 2, 2, 2, 3]
    sampler = DocumentBatchSampler(
        window_of, batch_size=2, generator=torch.Generator().manual_seed(0)
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == 2
    assert sorted(row for batch in batches for row in batch) == list(range(7))
    for batch in batches:
        documents = {window_of[row] for row in batch}
        assert len(documents) <= 2
        assert sorted(batch) == sorted(r for r, d in enumerate(window_of) if d in documents)


def test_fine_tuning_on_pooled_windows_runs_per_document(tokenizer):
    notes = generate_notes(24, seed=2)
    spec = WindowSpec(length=16, stride=8, pool="max")
    windows = tokenize_windows(notes, LABELS, tokenizer, spec)
    assert len(windows) > len(notes)
    train = torch_view(windows, [i for i, d in enumerate(windows["window_of"]) if d < 16])
    val = torch_view(windows, [i for i, d in enumerate(windows["window_of"]) if d >= 16])
    # the default preset's training options, one short epoch
    training = yaml.safe_load(Path("config.yaml").read_text())["multilabel"]["training"]
    options = {**training, "batch_size": 4, "lr": 1e-4, "loss": "bce", "epochs": 1}
    torch.manual_seed(0)
    model = new_classifier(MODEL, len(LABELS))
    result = fine_tune(
        model, train, val, FineTuneSpec(**options), 0, torch.device("cpu"), window_pool="max"
    )
    assert len(result.steps) == 4  # 16 documents in batches of 4, however many windows
    probabilities = predict_probabilities(model, val, torch.device("cpu"), window_pool="max")
    by_document = pd.DataFrame(probabilities).groupby(val[:]["window_of"].numpy()).nunique()
    assert (by_document == 1).all().all()  # every window carries its document's probability
