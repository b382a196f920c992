"""Experiment 1: graph neural networks for blood-brain-barrier permeability.

featurize (RDKit -> PyG graphs) -> splits (random / scaffold / scaffold_deterministic) ->
models (GAT, GCN, GIN, GraphSAGE) -> train (early stopping, imbalance remedies, per-epoch
collapse diagnostics, resumable) -> evaluate -> collapse study -> aggregate; external_set and
external score trained runs on a dataset they were not developed on.
"""
