"""Experiment 3: retrieval-augmented QA over health papers.

corpus (SQuAD JSON or JSONL; passages with character offsets; document-level question
splits) -> retrieval (BM25, dense MiniLM + FAISS, fusion) -> evaluation against gold
documents.
"""
