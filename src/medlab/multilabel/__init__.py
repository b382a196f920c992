"""Experiment 4: fine-tuning a BERT-style encoder for imbalanced multi-label classification.

data (synthetic notes / Hallmarks of Cancer; iterative-stratified split) -> tokenize
(cached datasets) -> train (grid of batch size x learning rate x loss x seed) ->
thresholds and calibration on validation -> test evaluation -> aggregate.
"""
