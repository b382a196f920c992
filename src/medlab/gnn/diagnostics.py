"""Per-epoch diagnostics of a GNN run: how close the model is to a constant predictor.

A collapsed binary classifier gives every molecule nearly the same logit (a small logit
spread), often pushed to an extreme (saturated outputs); over-smoothing makes the node
states within a molecule indistinguishable after many message-passing layers. These
numbers are recorded every epoch next to the validation AUROC (history.tsv), so a collapse
can be dated and attributed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.utils import to_dense_batch

# an output counts as saturated beyond either bound (the sigmoid's gradient there is < 1e-4)
SATURATION_LOGIT = 10.0
SATURATION_PROBABILITY = 1e-4


def logit_std(logits: np.ndarray) -> float:
    """Population standard deviation of ``logits`` (num_graphs,); 0 for a constant predictor."""
    return float(np.std(np.asarray(logits, dtype=np.float64)))


def saturated_fraction(logits: np.ndarray) -> float:
    """Fraction of ``logits`` (num_graphs,) with |logit| > 10 or probability outside
    [1e-4, 1 - 1e-4]."""
    logits = np.asarray(logits, dtype=np.float64)
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    saturated = (
        (np.abs(logits) > SATURATION_LOGIT)
        | (probabilities < SATURATION_PROBABILITY)
        | (probabilities > 1.0 - SATURATION_PROBABILITY)
    )
    return float(saturated.mean())


def mean_node_cosine(states: torch.Tensor, graph_index: torch.Tensor) -> float:
    """Over-smoothing index of node ``states`` (N, hidden) grouped by ``graph_index`` (N,).

    The mean, over graphs with at least two nodes, of the mean cosine similarity between
    every pair of distinct nodes of the graph: 1 when all of a molecule's atoms carry the
    same direction (fully smoothed). Pairs are taken within a molecule only, since states
    of different molecules are not expected to differ after pooling alone. An all-zero
    state has cosine 0 with everything. NaN when no graph has two nodes.
    """
    dense, present = to_dense_batch(F.normalize(states.float(), dim=-1), graph_index)
    # dense: (num_graphs, max_nodes, hidden); present: (num_graphs, max_nodes)
    similarity = dense @ dense.transpose(1, 2)
    pairs = present[:, :, None] & present[:, None, :]
    pairs &= ~torch.eye(pairs.shape[1], dtype=torch.bool, device=pairs.device)
    counts = pairs.sum(dim=(1, 2))
    usable = counts > 0
    if not usable.any():
        return float("nan")
    per_graph = (similarity * pairs).sum(dim=(1, 2))[usable] / counts[usable]
    return float(per_graph.mean())


@torch.no_grad()
def oversmoothing_by_layer(model: torch.nn.Module, batch) -> list[float]:
    """:func:`mean_node_cosine` after each message-passing block of ``model`` on ``batch``.

    ``model`` is a :class:`medlab.gnn.models.MoleculeGNN`; it is put in eval mode, so the
    measurement draws no random numbers and leaves training unchanged.
    """
    model.eval()
    return [mean_node_cosine(states, batch.batch) for states in model.layer_states(batch)]


def epoch_diagnostics(model: torch.nn.Module, val_logits: np.ndarray, probe_batch) -> dict:
    """The history columns added to each epoch's row.

    ``val_logits`` (num_val,) are the validation logits of this epoch; ``probe_batch`` is a
    fixed validation batch (the same every epoch) already on the model's device. Columns:
    val_logit_std, val_saturated_fraction, oversmoothing_index (after the last block) and
    node_cosine_layer<k> for each block k = 1..layers.
    """
    by_layer = oversmoothing_by_layer(model, probe_batch)
    return {
        "val_logit_std": logit_std(val_logits),
        "val_saturated_fraction": saturated_fraction(val_logits),
        "oversmoothing_index": by_layer[-1],
        **{f"node_cosine_layer{k}": value for k, value in enumerate(by_layer, start=1)},
    }
