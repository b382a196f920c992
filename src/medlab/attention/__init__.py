"""Experiment 2: what multi-head attention and position embeddings do inside a BERT encoder.

model (load, disable heads, remove positions, prune) -> extract (entropy, distance,
hidden-state change) -> importance and pruning curves -> cost -> statistics and figures.
"""
