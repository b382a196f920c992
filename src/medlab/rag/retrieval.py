"""Retrievers over passages: BM25 (rank-bm25, bm25s), dense (MiniLM + FAISS), and fusion.

Every retriever returns, per query, a list of (passage index, score) sorted by score.
"""

from __future__ import annotations

import re

import numpy as np

WORD = re.compile(r"\w+")


def tokenize_for_bm25(text: str) -> list[str]:
    """Lower-cased word tokens (the same for documents and queries)."""
    return WORD.findall(text.lower())


class RankBM25:
    """BM25 Okapi from rank-bm25 (the original experiment's library)."""

    def __init__(self, texts: list[str]):
        from rank_bm25 import BM25Okapi

        self.index = BM25Okapi([tokenize_for_bm25(t) or ["<empty>"] for t in texts])

    def search(self, queries: list[str], k: int) -> list[list[tuple[int, float]]]:
        results = []
        for query in queries:
            scores = self.index.get_scores(tokenize_for_bm25(query))
            top = np.argsort(-scores, kind="stable")[:k]
            results.append([(int(i), float(scores[i])) for i in top])
        return results


class BM25S:
    """BM25 from bm25s (sparse matrices; same tokenization as :class:`RankBM25`)."""

    def __init__(self, texts: list[str]):
        import bm25s

        self.index = bm25s.BM25()
        self.index.index([tokenize_for_bm25(t) or ["<empty>"] for t in texts], show_progress=False)
        self.size = len(texts)

    def search(self, queries: list[str], k: int) -> list[list[tuple[int, float]]]:
        tokens = [tokenize_for_bm25(q) or ["<empty>"] for q in queries]
        documents, scores = self.index.retrieve(tokens, k=min(k, self.size), show_progress=False)
        return [
            [(int(d), float(s)) for d, s in zip(row_d, row_s)]
            for row_d, row_s in zip(documents, scores)
        ]


class DenseFaiss:
    """Sentence embeddings (normalised, so inner product = cosine) in a FAISS index.

    ``kind`` is ``flat`` (exact inner product) or ``hnsw`` (approximate, for large corpora).
    """

    def __init__(self, encoder, texts: list[str], kind: str = "flat", batch_size: int = 32):
        import faiss

        self.encoder, self.batch_size = encoder, batch_size
        vectors = self.encode(texts)
        if kind == "flat":
            self.index = faiss.IndexFlatIP(vectors.shape[1])
        elif kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        else:
            raise ValueError(f"unknown FAISS index kind {kind!r}; expected flat or hnsw")
        self.index.add(vectors)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(texts, dim) float32 unit vectors."""
        return np.asarray(
            self.encoder.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ),
            dtype=np.float32,
        )

    def search(self, queries: list[str], k: int) -> list[list[tuple[int, float]]]:
        scores, indices = self.index.search(self.encode(queries), min(k, self.index.ntotal))
        return [
            [(int(i), float(s)) for i, s in zip(row_i, row_s) if i >= 0]
            for row_i, row_s in zip(indices, scores)
        ]


def reciprocal_rank_fusion(
    rankings: list[list[tuple[int, float]]], k: int, constant: int = 60
) -> list[tuple[int, float]]:
    """RRF (Cormack et al. 2009): score = sum over rankings of 1 / (constant + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (index, _) in enumerate(ranking, start=1):
            fused[index] = fused.get(index, 0.0) + 1.0 / (constant + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]


def weighted_score_fusion(
    rankings: list[list[tuple[int, float]]], weights: list[float], k: int
) -> list[tuple[int, float]]:
    """Min-max normalise each ranking's scores to [0, 1], then a weighted sum (missing = 0)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        values = np.array([s for _, s in ranking])
        low, span = values.min(), values.max() - values.min()
        for index, score in ranking:
            normalised = (score - low) / span if span > 0 else 1.0
            fused[index] = fused.get(index, 0.0) + weight * normalised
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]


def adaptive_cutoff(
    ranking: list[tuple[int, float]], min_k: int, max_k: int, drop: float
) -> list[tuple[int, float]]:
    """Keep results until the relative score drop to the next one exceeds ``drop`` (between min_k and max_k)."""
    kept = ranking[:min_k]
    for previous, current in zip(ranking[min_k - 1 : max_k - 1], ranking[min_k:max_k]):
        if previous[1] > 0 and (previous[1] - current[1]) / previous[1] > drop:
            break
        kept.append(current)
    return kept
