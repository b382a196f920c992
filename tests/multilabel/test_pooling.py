"""Mean pooling over non-padding tokens and the [CLS] head kept as it was."""

from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from medlab.multilabel.train import POOLINGS, mean_pool, new_classifier
from medlab.pretrained import load_pretrained

MODEL = "packaged:all-MiniLM-L6-v2"
TEXTS = ["Chest pain radiating to the left arm.", "No acute distress; vitals stable today."]


@pytest.fixture(scope="module")
def tokenizer():
    torch.set_num_threads(1)
    return load_pretrained(AutoTokenizer, MODEL)


def test_mean_pool_ignores_padding_positions():
    hidden = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    pooled = mean_pool(hidden, mask)
    assert torch.equal(pooled[0], hidden[0, :2].mean(0))
    assert torch.equal(pooled[1], hidden[1, 0])


def test_extra_padding_does_not_change_the_mean_pooled_prediction(tokenizer):
    torch.manual_seed(0)
    model = new_classifier(MODEL, 3, pooling="mean").eval()
    short = tokenizer(TEXTS, padding="longest", return_tensors="pt")
    long = tokenizer(TEXTS, padding="max_length", max_length=48, return_tensors="pt")
    assert long["input_ids"].shape[1] > short["input_ids"].shape[1]
    with torch.no_grad():
        logits_short = model(**short).logits
        logits_long = model(**long).logits
    assert logits_short.shape == (2, 3)
    assert torch.allclose(logits_short, logits_long, atol=1e-5)


def test_cls_pooling_is_the_models_own_classifier(tokenizer):
    """The default keeps today's model: the same weights and outputs for the same seed."""
    torch.manual_seed(0)
    pooled = new_classifier(MODEL, 3, pooling="cls").eval()
    torch.manual_seed(0)
    plain = new_classifier(MODEL, 3).eval()
    assert isinstance(pooled, type(plain))
    torch.manual_seed(0)
    original = load_pretrained(
        AutoModelForSequenceClassification,
        MODEL,
        num_labels=3,
        problem_type="multi_label_classification",
    ).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(pooled(**batch).logits, plain(**batch).logits)
        # only the re-initialised pooler differs from the raw checkpoint; the head is the same
        assert torch.equal(pooled.classifier.weight, original.classifier.weight)


def test_mean_pooled_classifier_trains_every_encoder_layer(tokenizer):
    torch.manual_seed(0)
    model = new_classifier(MODEL, 2, pooling="mean")
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    loss = model(**batch).logits.sum()
    loss.backward()
    assert model.base_model.encoder.layer[0].attention.self.query.weight.grad is not None
    assert model.classifier.weight.grad is not None


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        new_classifier(MODEL, 2, pooling="max")


def test_poolings_match_the_schema():
    schema = yaml.safe_load(Path("schemas/config.schema.yaml").read_text())
    multilabel = schema["properties"]["multilabel"]["properties"]
    assert tuple(multilabel["pooling"]["enum"]) == POOLINGS
