"""Retrievers over passages: BM25 (rank-bm25, bm25s), dense (MiniLM + FAISS), fusion and
cross-encoder re-ranking, as named registries, and the ranking of every question with every
configured method.

Every retriever returns, per query, a list of (passage index, score) sorted by score.
The search libraries (rank-bm25, bm25s, FAISS, sentence-transformers) are imported where
they are first used: the workflow imports the registries below while parsing its rules,
and importing those libraries there would slow every Snakemake start by seconds.
"""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlab.io import atomic_path
from medlab.pretrained import load_model
from medlab.rag.corpus import Question
from medlab.rag.fusion import (
    chosen_weight,
    fixed_fusion_weight,
    reciprocal_rank_fusion,
    tune_fusion_weight,
    weighted_score_fusion,
)
from medlab.rag.passages import Passage
from medlab.rag.rankings import QUERY_VARIANTS, Ranking, query_variant, rankings_frame

log = logging.getLogger(__name__)

WORD = re.compile(r"\w+")


def tokenize_for_bm25(text: str) -> list[str]:
    """Lower-cased word tokens (the same for documents and queries)."""
    return WORD.findall(text.lower())


class RankBM25:
    """BM25 Okapi from rank-bm25 (the original experiment's library)."""

    def __init__(self, texts: list[str]):
        from rank_bm25 import BM25Okapi  # imported on use: see the module docstring

        self.index = BM25Okapi([tokenize_for_bm25(t) or ["<empty>"] for t in texts])

    def search(self, queries: list[str], k: int) -> list[Ranking]:
        results = []
        for query in queries:
            scores = self.index.get_scores(tokenize_for_bm25(query))
            top = np.argsort(-scores, kind="stable")[:k]
            results.append([(int(i), float(scores[i])) for i in top])
        return results


class BM25S:
    """BM25 from bm25s (sparse matrices; same tokenization as :class:`RankBM25`)."""

    def __init__(self, texts: list[str]):
        import bm25s  # imported on use: see the module docstring

        self.index = bm25s.BM25()
        self.index.index([tokenize_for_bm25(t) or ["<empty>"] for t in texts], show_progress=False)
        self.size = len(texts)

    def search(self, queries: list[str], k: int) -> list[Ranking]:
        tokens = [tokenize_for_bm25(q) or ["<empty>"] for q in queries]
        documents, scores = self.index.retrieve(tokens, k=min(k, self.size), show_progress=False)
        return [
            [(int(d), float(s)) for d, s in zip(row_d, row_s)]
            for row_d, row_s in zip(documents, scores)
        ]


# rag.bm25_library -> implementation
BM25_LIBRARIES: dict[str, type] = {"rank_bm25": RankBM25, "bm25s": BM25S}


def _faiss():
    """The faiss module (imported on use: see the module docstring)."""
    import faiss

    return faiss


# rag.dense_index -> FAISS inner-product index of a dimension: exact, or HNSW (approximate,
# for large corpora)
DENSE_INDEX_KINDS: dict[str, Callable[[int], object]] = {
    "flat": lambda dim: _faiss().IndexFlatIP(dim),
    "hnsw": lambda dim: _faiss().IndexHNSWFlat(dim, 32, _faiss().METRIC_INNER_PRODUCT),
}


class DenseFaiss:
    """Sentence embeddings (normalised, so inner product = cosine) in a FAISS index.

    ``kind`` is a key of DENSE_INDEX_KINDS: ``flat`` (exact inner product) or ``hnsw``
    (approximate, for large corpora).

    Raises:
        ValueError: for an unknown kind.
    """

    def __init__(self, encoder, texts: list[str], kind: str = "flat", batch_size: int = 32):
        if kind not in DENSE_INDEX_KINDS:
            raise ValueError(
                f"unknown FAISS index kind {kind!r}; expected one of {sorted(DENSE_INDEX_KINDS)}"
            )
        self.encoder, self.batch_size = encoder, batch_size
        vectors = self.encode(texts)
        self.index = DENSE_INDEX_KINDS[kind](vectors.shape[1])
        self.index.add(vectors)

    @classmethod
    def from_index(cls, encoder, index, batch_size: int = 32) -> DenseFaiss:
        """Around an existing FAISS index of passages encoded by ``encoder`` (no re-encoding)."""
        dense = cls.__new__(cls)
        dense.encoder, dense.index, dense.batch_size = encoder, index, batch_size
        return dense

    def encode(self, texts: list[str]) -> np.ndarray:
        """(texts, dim) float32 unit vectors."""
        return np.asarray(
            self.encoder.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ),
            dtype=np.float32,
        )

    def search(self, queries: list[str], k: int) -> list[Ranking]:
        scores, indices = self.index.search(self.encode(queries), min(k, self.index.ntotal))
        return [
            [(int(i), float(s)) for i, s in zip(row_i, row_s) if i >= 0]
            for row_i, row_s in zip(indices, scores)
        ]


# ---- models and cached indexes ----------------------------------------------------


def load_sentence_encoder(name: str, device="cpu"):
    """A SentenceTransformer from a packaged name, local directory or hub id (clear error offline)."""
    # imported on use: see the module docstring
    from sentence_transformers import SentenceTransformer

    return load_model(SentenceTransformer, name, device=str(device))


def load_cross_encoder(name: str):
    """A sentence-transformers CrossEncoder (query, passage) -> relevance logit."""
    from sentence_transformers import CrossEncoder  # imported on use: see the module docstring

    return load_model(CrossEncoder, name)


def build_bm25_index(texts: list[str], library: str):
    """A BM25 index of ``texts`` with ``library`` (a key of BM25_LIBRARIES).

    Raises:
        ValueError: for an unknown library.
    """
    if library not in BM25_LIBRARIES:
        raise ValueError(
            f"rag.bm25_library: unknown library {library!r}; expected one of {sorted(BM25_LIBRARIES)}"
        )
    return BM25_LIBRARIES[library](texts)


def save_bm25_index(index, path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            pickle.dump(index, handle)


def load_bm25_index(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)


def save_dense_index(dense: DenseFaiss, path) -> None:
    """The FAISS index alone (the encoder is named again when loading)."""
    with atomic_path(path) as tmp:
        _faiss().write_index(dense.index, str(tmp))


def load_dense_index(path, encoder_name: str, batch_size: int) -> DenseFaiss:
    """A DenseFaiss around a cached FAISS file (no re-encoding of the passages)."""
    return DenseFaiss.from_index(
        load_sentence_encoder(encoder_name), _faiss().read_index(str(path)), batch_size
    )


# ---- retrieval methods ------------------------------------------------------------


def rerank(
    cross_encoder,
    queries: list[str],
    candidates: list[Ranking],
    passage_texts: list[str],
    depth: int,
) -> list[Ranking]:
    """Re-score fused candidates with a cross-encoder (query, passage) -> relevance."""
    reranked = []
    for query, ranking in zip(queries, candidates):
        if not ranking:
            reranked.append([])
            continue
        scores = cross_encoder.predict(
            [(query, passage_texts[i]) for i, _ in ranking], show_progress_bar=False
        )
        order = np.argsort(-np.asarray(scores), kind="stable")[:depth]
        reranked.append([(ranking[j][0], float(scores[j])) for j in order])
    return reranked


@dataclass(frozen=True)
class RetrievalRequest:
    """What every retrieval method reads: the queries, the base rankings, the settings."""

    queries: list[str]
    base: dict[str, list[Ranking]]  # bm25 / dense / dense_finetuned, one ranking per query
    depth: int  # passages kept per ranking
    hybrid: dict  # rag.hybrid (with the BM25 weight in force)
    reranker: object | None
    passage_texts: list[str]


def _base_method(name: str) -> Callable[[RetrievalRequest], list[Ranking]]:
    def retrieve(request: RetrievalRequest) -> list[Ranking]:
        return [ranking[: request.depth] for ranking in request.base[name]]

    return retrieve


def _fusion_pairs(request: RetrievalRequest) -> list[list[Ranking]]:
    """[BM25 ranking, dense ranking] per query, the dense one chosen by rag.hybrid.dense."""
    return [list(pair) for pair in zip(request.base["bm25"], request.base[request.hybrid["dense"]])]


def _rrf_candidates(request: RetrievalRequest) -> list[Ranking]:
    hybrid = request.hybrid
    return [
        reciprocal_rank_fusion(pair, hybrid["candidates"], hybrid["rrf_constant"])
        for pair in _fusion_pairs(request)
    ]


def _hybrid_rrf(request: RetrievalRequest) -> list[Ranking]:
    return [fused[: request.depth] for fused in _rrf_candidates(request)]


def _hybrid_weighted(request: RetrievalRequest) -> list[Ranking]:
    weights = [request.hybrid["bm25_weight"], 1.0 - request.hybrid["bm25_weight"]]
    return [weighted_score_fusion(pair, weights, request.depth) for pair in _fusion_pairs(request)]


def _hybrid_rerank(request: RetrievalRequest) -> list[Ranking]:
    return rerank(
        request.reranker,
        request.queries,
        _rrf_candidates(request),
        request.passage_texts,
        request.depth,
    )


# rag.retrievers -> implementation; the first three search an index of their own
BASE_RETRIEVERS = ("bm25", "dense", "dense_finetuned")
RETRIEVERS: dict[str, Callable[[RetrievalRequest], list[Ranking]]] = {
    **{name: _base_method(name) for name in BASE_RETRIEVERS},
    "hybrid_rrf": _hybrid_rrf,
    "hybrid_weighted": _hybrid_weighted,
    "hybrid_rerank": _hybrid_rerank,
}


def retrieve_all(
    queries: list[str],
    retrievers: dict,
    methods: list[str],
    depth: int,
    hybrid: dict,
    reranker=None,
    passage_texts: list[str] | None = None,
) -> dict[str, list[Ranking]]:
    """Rankings (passage index, score) of every method for every query, ``depth`` deep.

    ``retrievers`` maps bm25 / dense / dense_finetuned to objects with ``search``; hybrid
    methods fuse bm25 with ``hybrid['dense']`` over ``hybrid['candidates']`` results each.

    Raises:
        ValueError: for a method not in RETRIEVERS, or one whose index was not given.
    """
    for method in methods:
        if method not in RETRIEVERS:
            raise ValueError(
                f"rag.retrievers: unknown method {method!r}; expected one of {sorted(RETRIEVERS)}"
            )
    base = {
        name: r.search(queries, max(depth, hybrid["candidates"])) for name, r in retrievers.items()
    }
    request = RetrievalRequest(queries, base, depth, hybrid, reranker, passage_texts)
    try:
        return {method: RETRIEVERS[method](request) for method in methods}
    except KeyError as missing:
        raise ValueError(
            f"rag.retrievers: a method needs the {missing} index, which was not given"
        ) from missing


def rank_questions(
    questions: list[Question],
    splits: list[str],
    passages: list[Passage],
    retrievers: dict,
    methods: list[str],
    depth: int,
    hybrid: dict,
    reranker=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rankings of every method for every question and query variant, and the fusion weight.

    The BM25 weight of weighted fusion is chosen on the ``dev`` questions when
    ``hybrid['tune_weight']`` (and hybrid_weighted is a method), else taken from ``hybrid``.
    Returns (rankings frame with RANKING_COLUMNS, fusion-weight table).
    """
    if reranker is None:
        log.info("no cross-encoder configured (rag.reranker: null): re-ranking skipped")
    hybrid = dict(hybrid)
    if hybrid["tune_weight"] and "hybrid_weighted" in methods:
        dev = [q for q, split in zip(questions, splits) if split == "dev"]
        fusion = tune_fusion_weight(dev, retrievers, hybrid, [p.doc_id for p in passages])
        hybrid["bm25_weight"] = chosen_weight(fusion)
    else:
        fusion = fixed_fusion_weight(hybrid["bm25_weight"])
    texts = [p.text for p in passages]
    frames = []
    for variant in QUERY_VARIANTS:
        queries = [query_variant(q.question, variant) for q in questions]
        rankings = retrieve_all(queries, retrievers, methods, depth, hybrid, reranker, texts)
        frames.append(rankings_frame([q.id for q in questions], variant, rankings))
    log.info(
        "%d questions x %d variants x %d methods ranked",
        len(questions),
        len(QUERY_VARIANTS),
        len(methods),
    )
    return pd.concat(frames, ignore_index=True), fusion
