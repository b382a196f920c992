"""The RAG experiment's pipeline stages, one function per Snakemake rule (adapters call these).

Files between stages: documents/questions/passages JSONL (questions carry their split),
cached indexes (BM25 pickle, FAISS files), rankings and answers as Parquet tables.
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from medlab.io import atomic_path, write_json, write_tsv
from medlab.rag.corpus import (
    Corpus,
    load_jsonl,
    load_squad,
    questions_from_records,
    read_jsonl,
    write_jsonl,
)
from medlab.rag.passages import Passage, split_passages, split_questions_by_document
from medlab.rag.retrieval import (
    BM25S,
    DenseFaiss,
    RankBM25,
    adaptive_cutoff,
    reciprocal_rank_fusion,
    weighted_score_fusion,
)

log = logging.getLogger(__name__)

BM25_LIBRARIES = {"rank_bm25": RankBM25, "bm25s": BM25S}
QUERY_VARIANTS = ("original", "toggled_question_mark", "lowercased")


# ---- corpus -----------------------------------------------------------------------


def load_corpus(source_format: str, paths: dict) -> Corpus:
    if source_format == "squad":
        return load_squad(paths["file"])
    if source_format == "jsonl":
        return load_jsonl(paths["documents"], paths["questions"])
    raise ValueError(
        f"rag.corpus.format: unknown format {source_format!r}; expected jsonl or squad"
    )


def prepare_corpus(
    source_format: str,
    paths: dict,
    passage_size: int,
    passage_overlap: int,
    fractions,
    seed: int,
    max_documents: int | None,
    outputs,
) -> None:
    """Load, validate, split by document, cut passages; write the corpus files and the issue counts."""
    corpus = load_corpus(source_format, paths)
    doc_ids = sorted(corpus.documents)
    if max_documents is not None and max_documents < len(doc_ids):
        doc_ids = sorted(
            np.random.default_rng(seed).choice(doc_ids, size=max_documents, replace=False).tolist()
        )
    splits = split_questions_by_document(doc_ids, fractions, seed)
    split_of = {doc_id: name for name, ids in splits.items() for doc_id in ids}
    passages = [
        p
        for doc_id in doc_ids
        for p in split_passages(doc_id, corpus.documents[doc_id], passage_size, passage_overlap)
    ]
    questions = [q for q in corpus.questions if q.doc_id in split_of]
    for name, ids in splits.items():
        if not any(q.doc_id in set(ids) for q in questions):
            log.warning("split %s has no question (documents: %s)", name, ids)
    write_jsonl(
        [{"id": d, "text": corpus.documents[d], "split": split_of[d]} for d in doc_ids],
        outputs.documents,
    )
    write_jsonl([{**q.__dict__, "split": split_of[q.doc_id]} for q in questions], outputs.questions)
    write_jsonl([p.__dict__ for p in passages], outputs.passages)
    issues = pd.DataFrame(sorted(corpus.issues.items()), columns=["issue", "count"])
    write_tsv(issues, outputs.issues)
    counts = Counter(split_of[q.doc_id] for q in questions)
    write_json(
        {
            "documents": len(doc_ids),
            "passages": len(passages),
            "questions": dict(counts),
            "documents_per_split": {k: len(v) for k, v in splits.items()},
            "issues": dict(corpus.issues),
        },
        outputs.stats,
    )
    log.info(
        "%d documents, %d passages, questions per split %s; issues %s",
        len(doc_ids),
        len(passages),
        dict(counts),
        dict(corpus.issues),
    )


def read_passages(path) -> list[Passage]:
    return [Passage(**record) for record in read_jsonl(path)]


def read_questions(path, splits=None):
    records = [r for r in read_jsonl(path) if splits is None or r["split"] in splits]
    return questions_from_records(records), [r["split"] for r in records]


# ---- indexes ----------------------------------------------------------------------


def build_bm25_index(passages_path, library: str, output) -> None:
    if library not in BM25_LIBRARIES:
        raise ValueError(
            f"rag.bm25_library: unknown library {library!r}; expected one of {sorted(BM25_LIBRARIES)}"
        )
    index = BM25_LIBRARIES[library]([p.text for p in read_passages(passages_path)])
    with atomic_path(output) as tmp:
        with open(tmp, "wb") as handle:
            pickle.dump(index, handle)


def load_bm25_index(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)


def load_sentence_encoder(name: str, device="cpu"):
    """A SentenceTransformer from a packaged name, local directory or hub id (clear error offline)."""
    from sentence_transformers import SentenceTransformer

    from medlab.pretrained import load_model

    return load_model(SentenceTransformer, name, device=str(device))


def build_dense_index(passages_path, encoder_name: str, kind: str, batch_size: int, output) -> None:
    import faiss

    dense = DenseFaiss(
        load_sentence_encoder(encoder_name),
        [p.text for p in read_passages(passages_path)],
        kind,
        batch_size,
    )
    with atomic_path(output) as tmp:
        faiss.write_index(dense.index, str(tmp))


def load_dense_index(path, encoder_name: str, batch_size: int) -> DenseFaiss:
    """A DenseFaiss around a cached FAISS file (no re-encoding of the passages)."""
    import faiss

    dense = DenseFaiss.__new__(DenseFaiss)
    dense.encoder, dense.batch_size = load_sentence_encoder(encoder_name), batch_size
    dense.index = faiss.read_index(str(path))
    return dense


# ---- retrieval --------------------------------------------------------------------


def query_variant(question: str, variant: str) -> str:
    """The query as asked, with its trailing '?' toggled, or lower-cased (perturbation tests)."""
    if variant == "original":
        return question
    if variant == "toggled_question_mark":
        stripped = question.rstrip()
        return stripped[:-1].rstrip() if stripped.endswith("?") else stripped + "?"
    if variant == "lowercased":
        return question.lower()
    raise ValueError(f"unknown query variant {variant!r}")


def retrieve_all(
    queries: list[str],
    retrievers: dict,
    methods: list[str],
    depth: int,
    hybrid: dict,
    reranker=None,
    passage_texts: list[str] | None = None,
) -> dict[str, list[list[tuple[int, float]]]]:
    """Rankings (passage index, score) of every method for every query, ``depth`` deep.

    ``retrievers`` maps bm25 / dense / dense_finetuned to objects with ``search``; hybrid
    methods fuse bm25 with ``hybrid['dense']`` over ``hybrid['candidates']`` results each.
    """
    base = {
        name: r.search(queries, max(depth, hybrid["candidates"])) for name, r in retrievers.items()
    }
    rankings = {}
    for method in methods:
        if method in base:
            rankings[method] = [ranking[:depth] for ranking in base[method]]
        elif method in ("hybrid_rrf", "hybrid_weighted", "hybrid_rerank"):
            pairs = list(zip(base["bm25"], base[hybrid["dense"]]))
            if method == "hybrid_weighted":
                weights = [hybrid["bm25_weight"], 1.0 - hybrid["bm25_weight"]]
                rankings[method] = [weighted_score_fusion(list(p), weights, depth) for p in pairs]
            else:
                fused = [
                    reciprocal_rank_fusion(list(p), hybrid["candidates"], hybrid["rrf_constant"])
                    for p in pairs
                ]
                rankings[method] = (
                    [f[:depth] for f in fused]
                    if method == "hybrid_rrf"
                    else rerank(reranker, queries, fused, passage_texts, depth)
                )
        else:
            raise ValueError(f"rag.retrievers: unknown method {method!r}")
    return rankings


def rerank(
    cross_encoder,
    queries: list[str],
    candidates: list[list[tuple[int, float]]],
    passage_texts: list[str],
    depth: int,
) -> list[list[tuple[int, float]]]:
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


def rankings_frame(question_ids: list[str], variant: str, rankings: dict) -> pd.DataFrame:
    rows = [
        (qid, variant, method, rank, index, score)
        for method, per_query in rankings.items()
        for qid, ranking in zip(question_ids, per_query)
        for rank, (index, score) in enumerate(ranking, start=1)
    ]
    return pd.DataFrame(
        rows, columns=["question_id", "variant", "method", "rank", "passage", "score"]
    )


def ranking_lists(frame: pd.DataFrame) -> dict[tuple[str, str, str], list[tuple[int, float]]]:
    """(question id, variant, method) -> [(passage, score)] in rank order."""
    frame = frame.sort_values(["question_id", "variant", "method", "rank"])
    return {
        key: list(zip(part["passage"].tolist(), part["score"].tolist()))
        for key, part in frame.groupby(["question_id", "variant", "method"], sort=False)
    }


def cutoffs(top_k: list[int], adaptive: dict) -> dict[str, callable]:
    """Named truncation policies: 'top5', 'top10', ... and 'adaptive' (score drop-off)."""
    policies = {f"top{k}": (lambda ranking, k=k: ranking[:k]) for k in top_k}
    if adaptive["enabled"]:
        policies["adaptive"] = lambda ranking: adaptive_cutoff(
            ranking, adaptive["min_k"], adaptive["max_k"], adaptive["drop"]
        )
    return policies


# ---- reading ----------------------------------------------------------------------


def read_answers(
    reader,
    questions,
    splits,
    passages: list[Passage],
    rankings: pd.DataFrame,
    methods: list[str],
    policies: dict,
    focus: tuple[str, str],
) -> pd.DataFrame:
    """Answers of one reader for every (question, method, cutoff) plus the gold-passage oracle.

    dev and test questions are read with the original query (dev fits the confidence
    calibration); test questions are also read with each perturbed query at ``focus``
    (method, cutoff). A question with no retrieved passage gets an empty answer, counted.
    """
    from medlab.rag.training import gold_passages

    texts = [p.text for p in passages]
    lists = ranking_lists(rankings)
    rows = []

    def add(question, split, variant, method, cutoff, ranking):
        used = [index for index, _ in ranking]
        answer = reader.read(query_variant(question.question, variant), used, texts)
        rows.append(
            {
                "question_id": question.id,
                "split": split,
                "variant": variant,
                "method": method,
                "cutoff": cutoff,
                "k_used": len(used),
                "passages": " ".join(map(str, used)),
                "answer": answer.text,
                "confidence": answer.score,
                "source_passage": answer.passage,
            }
        )

    focus_method, focus_cutoff = focus
    for question, split in zip(questions, splits):
        gold = gold_passages(question, passages)[:1]
        add(question, split, "original", "gold_passage", "gold", [(index, 1.0) for index in gold])
        for method in methods:
            for variant in QUERY_VARIANTS:
                if variant != "original" and (split != "test" or method != focus_method):
                    continue
                ranking = lists.get((question.id, variant, method), [])
                for cutoff, policy in policies.items():
                    if variant == "original" or cutoff == focus_cutoff:
                        add(question, split, variant, method, cutoff, policy(ranking))
    frame = pd.DataFrame(rows)
    empty = int(((frame["k_used"] == 0) & (frame["method"] != "gold_passage")).sum())
    if empty:
        log.warning("%d reading(s) had zero retrieved passages and returned an empty answer", empty)
    no_gold = int(((frame["k_used"] == 0) & (frame["method"] == "gold_passage")).sum())
    if no_gold:
        log.warning(
            "%d question(s) have no passage holding a whole gold answer (it straddles passages): "
            "their gold-passage reading is empty",
            no_gold,
        )
    return frame


# ---- stages called by the workflow scripts ------------------------------------------


def save_directory_atomically(save, path) -> None:
    """``save(tmp_dir)`` then rename onto ``path``: a killed job leaves no complete-looking model."""
    import os
    import shutil
    import tempfile

    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        save(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def train_retriever_stage(
    encoder_name: str,
    passages_path,
    questions_path,
    training: dict,
    bm25_library: str,
    device,
    outputs,
) -> None:
    from medlab.rag.training import RetrieverTrainingSpec, retriever_pairs, train_retriever

    spec = RetrieverTrainingSpec(**{k: v for k, v in training.items() if k != "enabled"})
    passages = read_passages(passages_path)
    train, _ = read_questions(questions_path, splits={"train"})
    bm25 = BM25_LIBRARIES[bm25_library]([p.text for p in passages]) if spec.hard_negatives else None
    pairs = retriever_pairs(train, passages, bm25)
    log.info("%d training pairs from %d train questions", len(pairs), len(train))
    encoder = load_sentence_encoder(encoder_name, device)
    epochs = train_retriever(encoder, pairs, spec, device)
    save_directory_atomically(lambda tmp: encoder.save(str(tmp)), outputs.model)
    write_tsv(epochs, outputs.epochs)


def train_reader_stage(
    model_name: str,
    passages_path,
    questions_path,
    reader_options: dict,
    training: dict,
    device,
    outputs,
) -> None:
    from medlab.rag.training import ReaderTrainingSpec, train_reader

    spec = ReaderTrainingSpec(
        max_length=reader_options["max_length"], stride=reader_options["stride"], **training
    )
    passages = read_passages(passages_path)
    train, _ = read_questions(questions_path, splits={"train"})
    dev, _ = read_questions(questions_path, splits={"dev"})
    decoding = {k: v for k, v in reader_options.items() if k not in ("max_length", "stride")}
    reader, epochs = train_reader(model_name, train, dev, passages, spec, device, decoding)

    def save(tmp):
        reader.model.save_pretrained(tmp)
        reader.tokenizer.save_pretrained(tmp)

    save_directory_atomically(save, outputs.model)
    write_tsv(epochs, outputs.epochs)


def load_cross_encoder(name: str):
    from sentence_transformers import CrossEncoder

    from medlab.pretrained import load_model

    return load_model(CrossEncoder, name)


def tune_fusion_weight(
    dev, retrievers: dict, hybrid: dict, passage_doc_ids: list[str]
) -> pd.DataFrame:
    """BM25 weight of weighted score fusion chosen on dev questions (grid 0, 0.1, ..., 1; best gold-document
    MRR@10, ties to the weight nearest 0.5), so the test questions never influence it."""
    from medlab.rag.evaluate import documents_from_passages, retrieval_metrics

    if not dev:
        raise ValueError(
            "rag.hybrid.tune_weight needs dev questions; the dev split is empty (rag.split_fractions)"
        )
    queries = [q.question for q in dev]
    bm25 = retrievers["bm25"].search(queries, hybrid["candidates"])
    dense = retrievers[hybrid["dense"]].search(queries, hybrid["candidates"])
    gold = {q.id: q.doc_id for q in dev}
    rows = []
    for weight in np.round(np.linspace(0, 1, 11), 2):
        fused = [
            weighted_score_fusion([b, d], [weight, 1 - weight], 10) for b, d in zip(bm25, dense)
        ]
        runs = {q.id: documents_from_passages(r, passage_doc_ids) for q, r in zip(dev, fused)}
        rows.append(
            {
                "bm25_weight": float(weight),
                "dev_mrr@10": retrieval_metrics(gold, runs, ("mrr@10",))["mrr@10"],
            }
        )
    frame = pd.DataFrame(rows)
    best = frame["dev_mrr@10"].max()
    candidates = frame[frame["dev_mrr@10"] >= best - 1e-12]
    chosen = (candidates["bm25_weight"] - 0.5).abs().idxmin()
    frame["chosen"] = frame.index == chosen
    log.info(
        "fusion weight chosen on %d dev questions: bm25 %.1f (dev MRR@10 %.3f)",
        len(dev),
        frame.loc[chosen, "bm25_weight"],
        best,
    )
    return frame


def retrieve_stage(inputs: dict, params: dict, outputs) -> None:
    """Rank passages for dev and test questions (every query variant) with every method."""
    passages = read_passages(inputs["passages"])
    questions, splits = read_questions(inputs["questions"], splits={"dev", "test"})
    retrievers = {}
    if "bm25" in inputs:
        retrievers["bm25"] = load_bm25_index(inputs["bm25"])
    if "dense" in inputs:
        retrievers["dense"] = load_dense_index(
            inputs["dense"], params["encoder"], params["batch_size"]
        )
    if "dense_finetuned" in inputs:
        retrievers["dense_finetuned"] = load_dense_index(
            inputs["dense_finetuned"], inputs["finetuned_encoder"], params["batch_size"]
        )
    reranker = None
    if params["reranker"]:
        reranker = load_cross_encoder(params["reranker"])
    else:
        log.info("no cross-encoder configured (rag.reranker: null): re-ranking skipped")
    hybrid = dict(params["hybrid"])
    if hybrid["tune_weight"] and "hybrid_weighted" in params["methods"]:
        dev = [q for q, split in zip(questions, splits) if split == "dev"]
        fusion = tune_fusion_weight(dev, retrievers, hybrid, [p.doc_id for p in passages])
        hybrid["bm25_weight"] = float(fusion.loc[fusion["chosen"], "bm25_weight"].iloc[0])
    else:
        fusion = pd.DataFrame(
            {
                "bm25_weight": [hybrid["bm25_weight"]],
                "dev_mrr@10": [float("nan")],
                "chosen": [True],
                "dev_mrr@10_note": ["weight fixed in the config (rag.hybrid.tune_weight: false)"],
            }
        )
    write_tsv(fusion, outputs.fusion)
    frames = []
    for variant in QUERY_VARIANTS:
        queries = [query_variant(q.question, variant) for q in questions]
        rankings = retrieve_all(
            queries,
            retrievers,
            params["methods"],
            params["depth"],
            hybrid,
            reranker,
            [p.text for p in passages],
        )
        frames.append(rankings_frame([q.id for q in questions], variant, rankings))
    frame = pd.concat(frames, ignore_index=True)
    with atomic_path(outputs.rankings) as tmp:
        frame.to_parquet(tmp, index=False)
    log.info(
        "%d questions x %d variants x %d methods ranked",
        len(questions),
        len(QUERY_VARIANTS),
        len(params["methods"]),
    )


def read_stage(reader_kind: str, model_name: str, inputs, params: dict, device, output) -> None:
    """Answers of one reader ('sentence' or 'extractive') at every cutoff."""
    from medlab.rag.readers import ExtractiveReader, SentenceReader

    passages = read_passages(inputs.passages)
    questions, splits = read_questions(inputs.questions, splits={"dev", "test"})
    if reader_kind == "sentence":
        reader = SentenceReader(
            load_sentence_encoder(model_name, device), params["options"]["batch_size"]
        )
    else:
        reader = ExtractiveReader.from_pretrained(model_name, device, **params["options"])
    policies = cutoffs(params["top_k"], params["adaptive"])
    focus = (params["focus_method"], f"top{max(params['top_k'])}")
    answers = read_answers(
        reader,
        questions,
        splits,
        passages,
        pd.read_parquet(inputs.rankings),
        params["methods"],
        policies,
        focus,
    )
    answers.insert(0, "reader", reader_kind)
    with atomic_path(output) as tmp:
        answers.to_parquet(tmp, index=False)
    log.info("%d answers", len(answers))
