"""Cost of attention heads on a tiny random BERT: pruning keeps the requested heads, and the
parameter, FLOP and latency figures follow from it."""

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from medlab.attention.cost import attention_flops, measure_cost
from medlab.pretrained import load_pretrained

HIDDEN, LAYERS, HEADS = 32, 2, 4
HEAD_DIM = HIDDEN // HEADS
SENTENCES = ["Aspirin reduces fever.", "Insulin regulates blood glucose levels.", "Short."]


def _tiny_bert() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=64,
        attn_implementation="eager",
    )
    return BertModel(config).eval()


@pytest.fixture(scope="module")
def tokenizer():
    torch.set_num_threads(1)
    # the packaged MiniLM's BERT vocabulary (30522 tokens) matches BertConfig's default
    return load_pretrained(AutoTokenizer, "packaged:all-MiniLM-L6-v2")


def _attention_parameters(heads: int) -> int:
    """Query, key, value and output projections with their biases, and the LayerNorm."""
    width = heads * HEAD_DIM
    return LAYERS * (3 * (HIDDEN * width + width) + (width * HIDDEN + HIDDEN) + 2 * HIDDEN)


def test_measure_cost_keeps_the_requested_heads(tokenizer):
    model = _tiny_bert()
    cost = measure_cost(
        model, tokenizer, SENTENCES, heads_per_layer=2, batch_size=2, max_length=16, repeats=3
    )
    for layer in model.encoder.layer:
        assert layer.attention.self.num_attention_heads == 2
        assert layer.attention.self.query.out_features == 2 * HEAD_DIM
        assert layer.attention.output.dense.in_features == 2 * HEAD_DIM
    assert cost["heads_per_layer"] == 2 and cost["batch_size"] == 2 and cost["repeats"] == 3
    assert cost["attention_parameters"] == _attention_parameters(2)
    assert cost["parameters"] == sum(p.numel() for p in model.parameters())
    assert (
        cost["attention_gflops_per_batch"]
        == attention_flops(model, cost["mean_tokens"], 2) * 2 / 1e9
    )
    assert 0 < cost["latency_ms_min"] <= cost["latency_ms_median"]


def test_all_heads_kept_changes_no_parameter(tokenizer):
    model = _tiny_bert()
    before = sum(p.numel() for p in model.parameters())
    cost = measure_cost(model, tokenizer, SENTENCES, HEADS, batch_size=3, max_length=16, repeats=1)
    assert cost["parameters"] == before
    assert cost["attention_parameters"] == _attention_parameters(HEADS)


def test_attention_flops_by_hand():
    model = _tiny_bert()
    # one token, all heads: Q, K, V 3 x 32 x 32, scores and sum 2 x 4 x 8, output 32 x 32;
    # x 2 (multiply-accumulate) x 2 layers
    assert attention_flops(model, tokens=1, heads_per_layer=HEADS) == 2 * LAYERS * (
        3 * 32 * 32 + 2 * 4 * 8 + 32 * 32
    )
    # every term is linear in the number of heads
    assert 2 * attention_flops(model, 10, 2) == attention_flops(model, 10, 4)


def test_heads_out_of_range_are_refused(tokenizer):
    with pytest.raises(ValueError, match=r"1\.\.4"):
        measure_cost(_tiny_bert(), tokenizer, SENTENCES, 5, batch_size=1, max_length=8, repeats=1)
