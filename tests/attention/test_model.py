import math

import numpy as np
import pandas as pd
import pytest
import torch

from medlab.attention.analysis import paired_tests, rank_biserial
from medlab.attention.extract import (
    extract_condition,
    head_metrics,
    hidden_change,
    read_sentences,
    tokenize,
)
from medlab.attention.importance import least_important, tolerances
from medlab.attention.model import (
    AttentionUnavailableError,
    check_encoder,
    heads_disabled,
    load_encoder,
    positions_removed,
    prune_heads,
    validate_heads,
)
from medlab.attention.selection import choose_disabled_heads
from medlab.pretrained import ModelUnavailableError, load_pretrained

SENTENCES = [
    "The cat sat on the mat.",
    "Dogs bark.",
    "Where did you leave the keys that I gave you yesterday?",
]


@pytest.fixture(scope="module")
def encoder():
    torch.set_num_threads(1)
    return load_encoder("packaged:all-MiniLM-L6-v2")


def _forward(model, tokenizer, sentences=SENTENCES):
    encoded, _ = tokenize(tokenizer, sentences, 64)
    with torch.no_grad():
        return model(**encoded).last_hidden_state


def test_disabling_nothing_reproduces_the_original_exactly(encoder):
    model, tokenizer = encoder
    original = _forward(model, tokenizer)
    with heads_disabled(model, []):
        assert torch.equal(_forward(model, tokenizer), original)


def test_disabling_a_head_changes_the_output_and_is_undone(encoder):
    model, tokenizer = encoder
    original = _forward(model, tokenizer)
    with heads_disabled(model, [(0, 3)]):
        changed = _forward(model, tokenizer)
    assert (changed - original).abs().max() > 1e-3
    assert torch.equal(_forward(model, tokenizer), original)


def test_real_pruning_equals_disabling(encoder):
    import copy

    model, tokenizer = encoder
    disabled = [(layer, head) for layer in range(6) for head in range(12) if head % 3]
    with heads_disabled(model, disabled):
        expected = _forward(model, tokenizer)
    pruned = prune_heads(copy.deepcopy(model), {layer: [0, 3, 6, 9] for layer in range(6)})
    assert torch.allclose(_forward(pruned, tokenizer), expected, atol=1e-4)
    assert pruned.encoder.layer[0].attention.self.query.out_features == 4 * 32


def test_positions_removed_changes_output_and_restores_weights(encoder):
    model, tokenizer = encoder
    weights = model.embeddings.position_embeddings.weight.detach().clone()
    original = _forward(model, tokenizer)
    with positions_removed(model):
        assert model.embeddings.position_embeddings.weight.abs().sum() == 0
        assert (_forward(model, tokenizer) - original).abs().max() > 1e-2
    assert torch.equal(model.embeddings.position_embeddings.weight, weights)


def test_head_metrics_on_known_attention():
    # 1 sentence, 1 layer, 1 head, 4 positions of which the last is padding
    mask = torch.tensor([[1, 1, 1, 0]])
    uniform = torch.zeros(1, 1, 4, 4)
    uniform[..., :3] = 1 / 3
    entropy, distance = head_metrics((uniform,), mask)
    assert entropy.shape == (1, 1, 1)
    assert entropy[0, 0, 0] == pytest.approx(math.log(3))
    # query 0: (0+1+2)/3, query 1: (1+0+1)/3, query 2: (2+1+0)/3 -> mean 8/9
    assert distance[0, 0, 0] == pytest.approx(8 / 9)
    diagonal = torch.eye(4).reshape(1, 1, 4, 4)
    entropy, distance = head_metrics((diagonal,), mask)
    assert entropy[0, 0, 0] == pytest.approx(0.0, abs=1e-12) and distance[0, 0, 0] == 0


def test_hidden_change_is_zero_for_identical_states():
    states = tuple(torch.randn(2, 5, 8) for _ in range(3))
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    cosine, relative = hidden_change(states, states, mask)
    assert (
        cosine.shape == (2, 3) and np.allclose(cosine, 0, atol=1e-12) and np.allclose(relative, 0)
    )


def test_extract_condition_tables_and_truncation(encoder):
    model, tokenizer = encoder
    long_sentence = " ".join(["word"] * 40)
    result = extract_condition(
        model, tokenizer, SENTENCES + [long_sentence], [(1, 2)], True, 16, 2, keep_maps=[1]
    )
    assert result["truncated"] == 1  # only the 42-token sentence exceeds 16 tokens
    assert len(result["heads"]) == 4 * 6 * 12 and len(result["hidden"]) == 4 * 7
    assert result["heads"]["entropy"].between(0, math.log(16) + 1e-9).all()
    assert set(result["maps"]) == {1} and result["maps"][1].shape[:2] == (6, 12)
    original = extract_condition(model, tokenizer, SENTENCES, [], False, 64, 2)
    assert np.allclose(original["hidden"]["cosine_change"], 0, atol=1e-6)


def test_read_sentences_skips_and_counts(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("# comment\nFirst one.\n\n   \nSecond one.\n")
    result = read_sentences(path)
    assert result.sentences == ["First one.", "Second one."] and result.skipped_empty == 2
    assert read_sentences(path, limit=1).sentences == ["First one."]
    (tmp_path / "empty.txt").write_text("\n# only a comment\n")
    with pytest.raises(ValueError, match="empty.txt: no sentences"):
        read_sentences(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt: not valid UTF-8"):
        read_sentences(tmp_path / "latin1.txt")


def test_out_of_range_heads_name_the_key(encoder):
    model, _ = encoder
    with pytest.raises(ValueError, match=r"attention.disabled_heads.heads\[1\].*layer 6"):
        validate_heads([(0, 0), (6, 0)], model, key="attention.disabled_heads.heads")
    with pytest.raises(ValueError, match="head 12"):
        choose_disabled_heads(
            {"heads": [[0, 12]], "fraction": 0.1, "policy": "random", "seed": 0}, model
        )


def test_disabled_head_policies(encoder):
    model, _ = encoder
    spec = {"heads": [], "fraction": 0.25, "policy": "random", "seed": 3}
    chosen = choose_disabled_heads(spec, model)
    assert len(chosen) == 18 and chosen == choose_disabled_heads(spec, model)
    assert choose_disabled_heads(None, model) == []
    importance = pd.DataFrame(
        [(layer, h, float(layer * 12 + h)) for layer in range(6) for h in range(12)],
        columns=["layer", "head", "importance"],
    )
    least = choose_disabled_heads({**spec, "policy": "least_important"}, model, importance)
    most = choose_disabled_heads({**spec, "policy": "most_important"}, model, importance)
    assert least[:2] == [(0, 0), (0, 1)] and (5, 11) in most and not set(least) & set(most)
    with pytest.raises(ValueError, match="importance"):
        choose_disabled_heads({**spec, "policy": "least_important"}, model)


def test_least_important_within_band_and_tolerances():
    importance = pd.DataFrame(
        {"layer": [0, 0, 1, 1], "head": [0, 1, 0, 1], "importance": [0.3, 0.1, 0.2, 0.05]}
    )
    assert least_important(importance, 0.5) == [(1, 1), (0, 1)]
    assert least_important(importance, 0.5, layers=[0]) == [(0, 1)]
    curves = pd.DataFrame(
        {
            "band": ["lower"] * 4,
            "fraction": [0.0, 0.25, 0.5, 0.75],
            "quality": [1.0, 0.97, 0.94, 0.96],
        }
    )
    assert tolerances(curves, 0.95)["prunable_fraction"].tolist() == [
        0.25
    ]  # stops at the first drop below


def test_rank_biserial_and_paired_tests():
    assert rank_biserial(np.array([1.0, 2.0, 3.0])) == 1.0
    assert rank_biserial(np.array([-1.0, -2.0])) == -1.0
    rng = np.random.default_rng(0)
    rows = []
    for sentence in range(30):
        base = rng.uniform(1, 2)
        for condition, shift in (
            ("original", 0.0),
            ("positions_removed", 0.5),
            ("heads_disabled", 0.0),
        ):
            rows.append((condition, sentence, 0, 0, base + shift, 4.0 + shift))
    heads = pd.DataFrame(
        rows, columns=["condition", "sentence", "layer", "head", "entropy", "distance"]
    )
    tests = paired_tests(heads)
    shifted = tests[
        (tests.condition == "positions_removed")
        & (tests.layer.astype(str) == "all")
        & (tests.metric == "entropy")
    ].iloc[0]
    assert (
        shifted.p_adjusted_bh < 1e-4
        and shifted.rank_biserial == 1.0
        and shifted.median_difference == pytest.approx(0.5)
    )
    same = tests[(tests.condition == "heads_disabled") & (tests.layer.astype(str) == "all")]
    assert (same.p_value == 1.0).all()


def test_non_bert_model_is_refused():
    with pytest.raises(AttentionUnavailableError, match="toy: not a BERT-family encoder"):
        check_encoder(torch.nn.Linear(2, 2), "toy")


def test_hub_model_offline_fails_with_instructions(monkeypatch):
    from transformers import AutoModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ModelUnavailableError, match="'no-such-org/no-such-model'.*HF_HUB_OFFLINE.*local directory"
    ):
        load_pretrained(AutoModel, "no-such-org/no-such-model")
