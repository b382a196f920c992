"""Loading a BERT-family encoder with attentions, and the interventions the experiment makes.

transformers 5.x ignores ``head_mask`` for BERT, so a head is disabled with a forward
pre-hook on ``encoder.layer[l].attention.output.dense`` that zeroes that head's slice of
the concatenated context; positions are removed by zeroing the position embeddings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from transformers import AutoModel, AutoTokenizer

from medlab.pretrained import load_pretrained


class AttentionUnavailableError(RuntimeError):
    """The model cannot return attentions, or lacks the modules the interventions need."""


def load_encoder(name: str):
    """(model, tokenizer) in eval mode with eager attention (needed for ``output_attentions``)."""

    tokenizer = load_pretrained(AutoTokenizer, name)
    model = load_pretrained(AutoModel, name, attn_implementation="eager")
    model.eval()
    check_encoder(model, name)
    return model, tokenizer


def check_encoder(model, name: str = "model") -> None:
    """Raise AttentionUnavailableError unless ``model`` is a BERT-style encoder we can intervene on."""
    try:
        # attribute access alone is the check: these are the modules the interventions hook
        _ = model.encoder.layer[0].attention.output.dense
        _ = model.embeddings.position_embeddings
    except AttributeError as error:
        raise AttentionUnavailableError(
            f"{name}: not a BERT-family encoder with encoder.layer[i].attention.output.dense and "
            f"embeddings.position_embeddings ({error}); the attention experiment needs one"
        ) from error


def shape(model) -> tuple[int, int]:
    """(layers, heads per layer) from the model config."""
    return model.config.num_hidden_layers, model.config.num_attention_heads


def validate_heads(
    heads: Iterable[tuple[int, int]], model, key: str = "heads"
) -> list[tuple[int, int]]:
    """Check (layer, head) pairs against the model; ValueError naming ``key`` and the pair."""
    n_layers, n_heads = shape(model)
    checked = []
    for index, pair in enumerate(heads):
        layer, head = (int(v) for v in pair)
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ValueError(
                f"config key {key}[{index}]: (layer {layer}, head {head}) is out of range for a model with "
                f"{n_layers} layers x {n_heads} heads"
            )
        checked.append((layer, head))
    return checked


@contextlib.contextmanager
def heads_disabled(model, heads: Iterable[tuple[int, int]]) -> Iterator[None]:
    """Zero the outputs of the given (layer, head) pairs while the context is active.

    The head's attention is still computed (its own entropy is unchanged); what it
    contributes to the residual stream is removed, so later layers see the change.
    """
    n_layers, n_heads = shape(model)
    head_dim = model.config.hidden_size // n_heads
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    handles = []
    for layer, layer_heads in by_layer.items():
        mask = torch.ones(model.config.hidden_size)
        for head in layer_heads:
            mask[head * head_dim : (head + 1) * head_dim] = 0.0

        def zero_heads(module, args, mask=mask):
            # args[0]: context (batch, tokens, hidden) with heads concatenated along hidden
            return (args[0] * mask.to(args[0].dtype).to(args[0].device),) + tuple(args[1:])

        handles.append(
            model.encoder.layer[layer].attention.output.dense.register_forward_pre_hook(zero_heads)
        )
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def positions_removed(model) -> Iterator[None]:
    """Zero the absolute position embeddings while the context is active (restored after)."""
    weight = model.embeddings.position_embeddings.weight
    saved = weight.detach().clone()
    with torch.no_grad():
        weight.zero_()
    try:
        yield
    finally:
        with torch.no_grad():
            weight.copy_(saved)


@contextlib.contextmanager
def condition(model, disabled: list[tuple[int, int]], remove_positions: bool) -> Iterator[None]:
    """Apply both interventions as configured for one condition."""
    with contextlib.ExitStack() as stack:
        if disabled:
            stack.enter_context(heads_disabled(model, disabled))
        if remove_positions:
            stack.enter_context(positions_removed(model))
        yield


def _select(linear: torch.nn.Linear, index: torch.Tensor, dim: int) -> torch.nn.Linear:
    """A copy of ``linear`` keeping ``index`` along ``dim`` (0: outputs, 1: inputs)."""
    weight = linear.weight.detach().index_select(dim, index).clone()
    bias = linear.bias.detach().clone() if linear.bias is not None else None
    if dim == 0 and bias is not None:
        bias = bias.index_select(0, index)
    smaller = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        smaller.weight.copy_(weight)
        if bias is not None:
            smaller.bias.copy_(bias)
    return smaller


def prune_heads(model, keep: dict[int, list[int]]):
    """Really remove heads: shrink query/key/value (outputs) and attention.output.dense (inputs).

    ``keep`` maps a layer to the heads it keeps (at least one). transformers 5 dropped
    ``PreTrainedModel.prune_heads``; the eager attention reshapes with -1 heads, so smaller
    projections are all it takes. Returns ``model`` (changed in place).
    """
    n_layers, n_heads = shape(model)
    head_dim = model.config.hidden_size // n_heads
    for layer, heads in keep.items():
        if not heads:
            raise ValueError(f"layer {layer}: keep at least one head")
        index = torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in sorted(heads)])
        attention = model.encoder.layer[layer].attention
        for name in ("query", "key", "value"):
            setattr(attention.self, name, _select(getattr(attention.self, name), index, dim=0))
        attention.output.dense = _select(attention.output.dense, index, dim=1)
        attention.self.num_attention_heads = len(heads)
        attention.self.all_head_size = len(heads) * head_dim
    return model


def prune_to_heads_per_layer(model, heads_per_layer: int):
    """Keep the first ``heads_per_layer`` heads of every layer (for cost measurements,
    where which heads are kept does not matter)."""
    n_layers, n_heads = shape(model)
    if not 1 <= heads_per_layer <= n_heads:
        raise ValueError(f"heads_per_layer must be in 1..{n_heads}, got {heads_per_layer}")
    return prune_heads(model, {layer: list(range(heads_per_layer)) for layer in range(n_layers)})
