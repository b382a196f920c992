"""Message-passing models for molecular graphs, chosen by name from ``ARCHITECTURES``
(medlab.registry), read out by a ``POOLINGS`` entry.

Every model maps a batch of graphs to one logit per graph. Aggregations compared by the
experiment: GCN (degree-normalised mean), GraphSAGE (mean), GIN (sum) and GAT (attention).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import (
    GATConv,
    GCNConv,
    GINConv,
    GINEConv,
    SAGEConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)
from torch_geometric.nn.aggr import AttentionalAggregation

from medlab.gnn.spec import ModelSpec, validate_spec
from medlab.registry import ARCHITECTURES, POOLINGS


def _gin_mlp(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden)
    )


@ARCHITECTURES.register("gat")
def _build_gat(spec: ModelSpec, edge_dim: int | None) -> nn.Module:
    # concatenated heads keep the width at ``hidden``; attention dropout as in the original setup
    return GATConv(
        spec.hidden,
        spec.hidden // spec.heads,
        heads=spec.heads,
        dropout=spec.dropout,
        edge_dim=edge_dim,
    )


@ARCHITECTURES.register("gcn")
def _build_gcn(spec: ModelSpec, edge_dim: int | None) -> nn.Module:
    return GCNConv(spec.hidden, spec.hidden)


@ARCHITECTURES.register("gin")
def _build_gin(spec: ModelSpec, edge_dim: int | None) -> nn.Module:
    if edge_dim is not None:
        return GINEConv(_gin_mlp(spec.hidden), edge_dim=edge_dim)
    return GINConv(_gin_mlp(spec.hidden))


@ARCHITECTURES.register("sage")
def _build_sage(spec: ModelSpec, edge_dim: int | None) -> nn.Module:
    return SAGEConv(spec.hidden, spec.hidden, aggr="mean")


# readouts: (model, node states (N, hidden), graph index (N,)) -> (num_graphs, hidden)


@POOLINGS.register("mean")
def _mean_pool(model: nn.Module, h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return global_mean_pool(h, index)


@POOLINGS.register("sum")
def _sum_pool(model: nn.Module, h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return global_add_pool(h, index)


@POOLINGS.register("max")
def _max_pool(model: nn.Module, h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return global_max_pool(h, index)


@POOLINGS.register("attention")
def _attention_pool(model: nn.Module, h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    # the gate network is a submodule of the model (created when pooling is "attention")
    return model.attention_pool(h, index)


def _build_norm(spec: ModelSpec) -> nn.Module:
    """The normalisation of one block: BatchNorm (``norm: batch``) or none (``norm: none``)."""
    return nn.BatchNorm1d(spec.hidden) if spec.norm == "batch" else nn.Identity()


class MoleculeGNN(nn.Module):
    """Input projection -> ``layers`` message-passing blocks -> graph pooling -> MLP head.

    Each block is conv -> BatchNorm (unless ``norm: none``) -> ReLU -> dropout, plus the
    block input when ``residual`` (skip connections against over-smoothing in deeper stacks).
    """

    def __init__(self, spec: ModelSpec, atom_dim: int, bond_dim: int):
        super().__init__()
        validate_spec(spec)
        self.spec = spec
        edge_dim = bond_dim if spec.edge_features else None
        self.input = nn.Linear(atom_dim, spec.hidden)
        self.convs = nn.ModuleList(
            ARCHITECTURES.get(spec.arch)(spec, edge_dim) for _ in range(spec.layers)
        )
        self.norms = nn.ModuleList(_build_norm(spec) for _ in range(spec.layers))
        self.dropout = nn.Dropout(spec.dropout)
        self._readout = POOLINGS.get(spec.pooling)
        if spec.pooling == "attention":
            self.attention_pool = AttentionalAggregation(nn.Linear(spec.hidden, 1))
        self.head = nn.Sequential(
            nn.Linear(spec.hidden, spec.hidden),
            nn.ReLU(),
            nn.Dropout(spec.dropout),
            nn.Linear(spec.hidden, 1),
        )

    def _convolve(self, conv: nn.Module, h: torch.Tensor, batch) -> torch.Tensor:
        if self.spec.edge_features:
            return conv(h, batch.edge_index, batch.edge_attr)
        return conv(h, batch.edge_index)

    def _pool(self, h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self._readout(self, h, index)

    def layer_states(self, batch) -> list[torch.Tensor]:
        """Node states after each message-passing block: ``layers`` tensors of shape (N, hidden).

        ``batch``: a PyG Batch with x (N, atom_dim), edge_index (2, E), edge_attr (E, bond_dim).
        """
        h = self.input(batch.x)
        states = []
        for conv, norm in zip(self.convs, self.norms):
            update = self.dropout(torch.relu(norm(self._convolve(conv, h, batch))))
            h = h + update if self.spec.residual else update
            states.append(h)
        return states

    def forward(self, batch) -> torch.Tensor:
        """``batch``: a PyG Batch as in :meth:`layer_states`. Returns logits of shape (num_graphs,)."""
        h = self.layer_states(batch)[-1]
        return self.head(self._pool(h, batch.batch)).squeeze(-1)
