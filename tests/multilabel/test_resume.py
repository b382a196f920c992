"""Fine-tuning resumed from its per-epoch checkpoint ends as an uninterrupted run does."""

from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoTokenizer

from medlab.multilabel.synthetic import LABELS, generate_notes
from medlab.multilabel.tokenize import tokenize_table, torch_view
from medlab.multilabel.train import FineTuneSpec, ResumeFile, fine_tune, new_classifier
from medlab.pretrained import load_pretrained

MODEL = "packaged:all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    notes = generate_notes(32, seed=5)
    tokens = tokenize_table(notes, LABELS, load_pretrained(AutoTokenizer, MODEL), 24)
    training = yaml.safe_load(Path("config.yaml").read_text())["multilabel"]["training"]
    options = {**training, "batch_size": 8, "lr": 1e-4, "loss": "bce", "epochs": 2, "patience": 2}
    return torch_view(tokens, list(range(24))), torch_view(tokens, list(range(24, 32))), options


def _run(data, seed=0, resume=None):
    train, val, options = data
    torch.manual_seed(0)  # the classifier head
    model = new_classifier(MODEL, len(LABELS))
    result = fine_tune(
        model, train, val, FineTuneSpec(**options), seed, torch.device("cpu"), resume=resume
    )
    return result, model


def test_a_run_stopped_after_one_epoch_resumes_to_the_same_end(data, tmp_path):
    uninterrupted, model = _run(data)
    checkpoint = tmp_path / "resume.pt"
    first, _ = _run(data, resume=ResumeFile(checkpoint, stop_after_epochs=1))
    assert len(first.epochs) == 1 and checkpoint.exists()
    resumed, resumed_model = _run(data, resume=ResumeFile(checkpoint))
    assert resumed.steps["loss"].tolist() == uninterrupted.steps["loss"].tolist()
    assert resumed.best_epoch == uninterrupted.best_epoch
    for name, value in model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name


def test_a_checkpoint_of_another_seed_is_not_resumed(data, tmp_path):
    checkpoint = tmp_path / "resume.pt"
    _run(data, seed=1, resume=ResumeFile(checkpoint, stop_after_epochs=1))
    fresh, _ = _run(data, seed=0, resume=ResumeFile(checkpoint, stop_after_epochs=1))
    plain, _ = _run(data, seed=0, resume=ResumeFile(tmp_path / "other.pt", stop_after_epochs=1))
    assert fresh.steps["loss"].tolist() == plain.steps["loss"].tolist()
    other_data, _ = _run(
        data, seed=0, resume=ResumeFile(checkpoint, data_fingerprint="another", stop_after_epochs=1)
    )
    assert other_data.steps["loss"].tolist() == plain.steps["loss"].tolist()
