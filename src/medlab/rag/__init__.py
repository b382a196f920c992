"""Experiment 3: retrieval-augmented QA over health papers, evaluated against gold answers.

corpus (SQuAD JSON or JSONL; passages with character offsets; document-level question
splits) -> retrieval (BM25, dense MiniLM + FAISS, fusion, optional cross-encoder
re-ranking, adaptive cutoff) -> readers (extractive span reader, sentence reader) ->
evaluation (recall / MRR / nDCG, EM / F1, calibration, stability, perturbations).
``stages`` holds one function per Snakemake rule.
"""
