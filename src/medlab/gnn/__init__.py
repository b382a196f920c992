"""Experiment 1: graph neural networks for blood-brain-barrier permeability.

featurize (RDKit -> PyG graphs) -> splits (random / scaffold) -> models (GAT, GCN, GIN,
GraphSAGE) -> train (early stopping, imbalance remedies, resumable) -> evaluate -> aggregate.
"""
