"""Experiment 3: retrieval-augmented QA over health papers, evaluated against gold answers.

Modules, each importing only those before it:
``corpus`` (SQuAD JSON or JSONL, bad records counted) -> ``passages`` (passages with
character offsets, document-level splits, the prepared corpus files) -> ``rankings``
(ranking lists and frames, query variants, cutoffs, gold-document metrics) -> ``fusion``
(reciprocal-rank and weighted fusion, fusion weight chosen on dev) -> ``retrieval`` (BM25,
dense MiniLM + FAISS, cross-encoder re-ranking; the RETRIEVERS registry) -> ``readers``
(sentence reader; the READERS registry) and ``extractive`` (span reader) -> ``reading``
(answers per method and cutoff) -> ``evaluate`` (recall / MRR / nDCG, EM / F1,
calibration, stability, perturbations) -> ``summary``; ``training`` fine-tunes the reader,
``retriever_training`` the retriever; ``ask`` answers one question from a finished run
(``medlab ask``). The workflow scripts ``workflow_scripts/rag_*.py`` call these with paths
and config values and write every output.
"""
