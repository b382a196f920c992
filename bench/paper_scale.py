"""Scale plan: the work a preset asks of each heavy rule, priced before anything is submitted.

    python bench/paper_scale.py [--configfile presets/paper.yaml] [--threads 2]
                                [--gpu-speedup 20] [--out bench/results/paper_scale.md]

For every heavy rule it counts the work the preset implies (graphs x epochs per GNN run,
question-passage pairs to re-rank, reader windows, training examples x epochs per grid
cell, ...) from the data files themselves, prices one item with a model of the same size
(random weights built from the architecture's config, so no download is needed) timed on
this machine's CPU, and sets the estimate beside the runtime each job requests, as
Snakemake's own dry run of the preset reports it. A job whose estimate exceeds its
request is flagged: on its CPU estimate when it requests no GPU, on the CPU estimate
divided by ``--gpu-speedup`` when it does (an assumption, printed with the table).

Estimates are upper bounds where the pipeline may stop early (early stopping, answers
read from the union of several rankings); each row says what it counts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.loader import DataLoader
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    BertConfig,
    RobertaConfig,
)

from medlab.config import gnn_variant_spec, load_config
from medlab.data.fetch import packaged_file
from medlab.gnn.featurize import mol_to_graph
from medlab.gnn.models import MoleculeGNN
from medlab.gnn.spec import TrainSpec
from medlab.multilabel.data import read_hallmarks_sentences, read_hallmarks_zip
from medlab.pretrained import resolve_model
from medlab.rag.corpus import load_corpus
from medlab.rag.passages import split_passages

ROOT = Path(__file__).resolve().parents[1]

# Architectures of the hub models the presets name, so they can be priced offline with
# random weights of the same size. A local directory or packaged model is read directly.
HUB_SHAPES = {
    "bert-base-uncased": lambda: BertConfig(),
    "roberta-base": lambda: RobertaConfig(vocab_size=50265, max_position_embeddings=514),
    "deepset/roberta-base-squad2": lambda: RobertaConfig(
        vocab_size=50265, max_position_embeddings=514
    ),
    "cross-encoder/ms-marco-MiniLM-L-6-v2": lambda: BertConfig(
        hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536
    ),
}

# Typical lengths in tokens where the preset sets none: a 200-word passage plus a question
# in a cross-encoder pair, and a passage alone for the dense index.
PAIR_TOKENS = 320
PASSAGE_TOKENS = 256


@dataclass
class Work:
    """The work one rule asks for: ``jobs`` jobs of ``items_per_job`` items at ``seconds_per_item``."""

    rule: str
    counts: str
    jobs: int
    items_per_job: float
    seconds_per_item: float

    @property
    def cpu_hours_per_job(self) -> float:
        return self.items_per_job * self.seconds_per_item / 3600


# ---- what Snakemake would submit ---------------------------------------------------------


def requested_resources(configfile: str | None) -> dict[str, dict]:
    """Per rule: job count and the largest runtime (min), mem_mb and gpu its jobs request.

    Read from ``snakemake -n --forceall`` of the preset, so the numbers are the ones a
    cluster would see on the first attempt.
    """
    command = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "report"]
    if configfile:
        command += ["--configfile", configfile]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"snakemake dry run failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    rules: dict[str, dict] = {}
    current = None
    for line in (result.stdout + result.stderr).splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            current = rules.setdefault(match[1], {"jobs": 0, "runtime": 0, "mem_mb": 0, "gpu": 0})
            current["jobs"] += 1
        elif current is not None and line.strip().startswith("resources:"):
            for key, value in re.findall(r"(\w+)=([\d.]+)", line):
                if key in ("runtime", "mem_mb", "gpu"):
                    current[key] = max(current[key], float(value))
    return rules


# ---- data sizes ---------------------------------------------------------------------------


def data_file(name: str, config: dict) -> Path:
    """A dataset's file: the packaged copy, the run's download, or the local mirror."""
    if name in config["packaged_datasets"]:
        entry = config["packaged_datasets"][name]
        return packaged_file(entry["module"], entry["path"])
    filename = config["datasets"][name]["filename"]
    mirror = os.environ.get("MEDLAB_DATA_MIRROR") or config.get("data_mirror")
    candidates = [
        ROOT / "results" / "data" / name / filename,
        ROOT.parent / "shared" / "data" / filename,
    ]
    if mirror:
        candidates.insert(0, Path(mirror) / filename)
    for path in candidates:
        if path.is_file():
            return path
    raise SystemExit(
        f"dataset {name!r}: {filename} not found in {[str(c) for c in candidates]}; "
        "download it once (snakemake results/data/<name>/<file>) or set MEDLAB_DATA_MIRROR"
    )


def molecule_table(name: str, config: dict, rows: int | None = None) -> pd.DataFrame:
    table = config["gnn"]["tables"][name]
    return pd.read_csv(data_file(name, config), sep=table["separator"], nrows=rows, dtype=str)


def rag_counts(config: dict) -> tuple[int, int]:
    """(passages, questions) of the preset's corpus, read and cut as the pipeline does."""
    rag = config["rag"]
    corpus = rag["corpus"]
    if corpus["format"] == "jsonl":
        paths = {"documents": ROOT / corpus["documents"], "questions": ROOT / corpus["questions"]}
    else:
        paths = {
            "file": Path(corpus["file"]) if corpus["file"] else data_file(corpus["dataset"], config)
        }
    loaded = load_corpus(corpus["format"], paths)
    size, overlap = rag["passages"]["size"], rag["passages"]["overlap"]
    passages = sum(
        len(split_passages(doc_id, text, size, overlap))
        for doc_id, text in loaded.documents.items()
    )
    return passages, len(loaded.questions)


def multilabel_units(config: dict) -> int:
    """Training-unit rows of the multi-label dataset (documents, or HoC's labelled sentences)."""
    settings = config["multilabel"]
    if settings["dataset"] != "hoc":
        return int(settings["synthetic"]["notes"])
    archive = data_file("hoc", config)
    if settings["unit"] == "sentence":
        return len(read_hallmarks_sentences(archive))
    return len(read_hallmarks_zip(archive))


# ---- per-item costs on this machine ---------------------------------------------------------


def model_config(name: str):
    """The architecture of ``name``: a packaged or local model's config, or a known hub shape."""
    if name in HUB_SHAPES:
        return HUB_SHAPES[name]()
    resolved = resolve_model(name)
    if Path(resolved).is_dir():
        return AutoConfig.from_pretrained(resolved)
    raise SystemExit(
        f"no offline shape for hub model {name!r}; add it to HUB_SHAPES or give a local path"
    )


def seconds_per_sequence(
    name: str, tokens: int, train: bool, head: str = "encoder", batch: int = 8
) -> float:
    """Seconds per sequence of ``tokens`` tokens through a same-size random model of ``name``.

    ``train`` times forward + backward; otherwise a no-grad forward. Two timed batches
    after one warm-up batch.
    """
    config = model_config(name)
    factory = {
        "encoder": AutoModel,
        "qa": AutoModelForQuestionAnswering,
        "pair": AutoModelForSequenceClassification,
    }[head]
    if head == "pair":
        config.num_labels = 1
    model = factory.from_config(config)
    tokens = min(tokens, config.max_position_embeddings - 2)
    ids = torch.randint(5, config.vocab_size - 1, (batch, tokens))
    mask = torch.ones_like(ids)

    def step():
        if train:
            model.train()
            output = model(input_ids=ids, attention_mask=mask)
            first = output[0] if not hasattr(output, "logits") else output.logits
            first.float().mean().backward()
            model.zero_grad(set_to_none=True)
        else:
            model.eval()
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)

    step()
    started = time.perf_counter()
    for _ in range(2):
        step()
    return (time.perf_counter() - started) / (2 * batch)


def seconds_per_graph_epoch(config: dict, dataset: str, variant: str) -> tuple[float, float]:
    """(train, evaluate) seconds per molecule for one epoch of ``variant`` on this CPU."""
    spec = TrainSpec.from_dict(gnn_variant_spec(config, variant))
    table = config["gnn"]["tables"][dataset]
    graphs = []
    for smiles in molecule_table(dataset, config, rows=600)[table["smiles_column"]]:
        mol = Chem.MolFromSmiles(str(smiles))
        if mol is not None:
            graphs.append(mol_to_graph(mol))
    for graph in graphs:
        graph.y = torch.zeros(1)
    model = MoleculeGNN(spec.model, graphs[0].x.shape[1], graphs[0].edge_attr.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    loader = DataLoader(graphs, batch_size=spec.batch_size, shuffle=True)
    model.train()

    def train_epoch():
        for batch in loader:
            optimizer.zero_grad()
            logits = model(batch).view(-1)
            torch.nn.functional.binary_cross_entropy_with_logits(logits, batch.y).backward()
            optimizer.step()

    train_epoch()  # warm-up: lazy initialisation and allocator growth
    started = time.perf_counter()
    train_epoch()
    train_s = (time.perf_counter() - started) / len(graphs)
    started = time.perf_counter()
    model.eval()
    with torch.no_grad():
        for batch in loader:
            model(batch)
    return train_s, (time.perf_counter() - started) / len(graphs)


# ---- the plan -----------------------------------------------------------------------------


def gnn_work(config: dict) -> list[Work]:
    gnn, rows = config["gnn"], []
    train_fraction, val_fraction = gnn["split_fractions"][0], gnn["split_fractions"][1]
    for dataset in gnn["datasets"]:
        molecules = len(molecule_table(dataset, config))
        if gnn["max_molecules"]:
            molecules = min(molecules, gnn["max_molecules"])
        for variant in gnn["run_variants"]:
            epochs = gnn_variant_spec(config, variant)["epochs"]
            train_s, eval_s = seconds_per_graph_epoch(config, dataset, variant)
            per_epoch = molecules * (train_fraction * train_s + val_fraction * eval_s)
            rows.append(
                Work(
                    "gnn_train",
                    f"{dataset} {variant}: {molecules} molecules, ≤ {epochs} epochs",
                    len(gnn["splits"]) * len(gnn["seeds"]),
                    epochs,
                    per_epoch,
                )
            )
    return rows


def attention_work(config: dict) -> list[Work]:
    attention, rows = config["attention"], []
    sentences = sum(
        1 for line in (ROOT / attention["sentences"]).read_text().splitlines() if line.strip()
    )
    if attention["max_sentences"]:
        sentences = min(sentences, attention["max_sentences"])
    for key, name in attention["models"].items():
        shape = model_config(name)
        heads = shape.num_hidden_layers * shape.num_attention_heads
        per_sentence = seconds_per_sequence(name, attention["max_length"], train=False)
        rows.append(
            Work(
                "attention_importance",
                f"{key}: {sentences} sentences × ({heads} heads + 1)",
                1,
                sentences * (heads + 1),
                per_sentence,
            )
        )
        rows.append(
            Work(
                "attention_extract",
                f"{key}: {sentences} sentences per condition",
                len(attention["conditions"]),
                sentences,
                per_sentence,
            )
        )
    return rows


def rag_work(config: dict) -> list[Work]:
    rag, rows = config["rag"], []
    passages, questions = rag_counts(config)
    train_q, dev_q, test_q = (questions * f for f in rag["split_fractions"])
    encoder = rag["encoder"]
    rows.append(
        Work(
            "rag_index_dense",
            f"{passages} passages encoded",
            1,
            passages,
            seconds_per_sequence(encoder, PASSAGE_TOKENS, train=False),
        )
    )
    if "dense_finetuned" in str(rag["retrievers"]) or rag["hybrid"]["dense"] == "dense_finetuned":
        epochs = rag["retriever_training"]["epochs"]
        # query, positive and (with hard negatives) one negative passage per pair
        encodings = 3 if rag["retriever_training"]["hard_negatives"] else 2
        rows.append(
            Work(
                "rag_train_retriever",
                f"{train_q:.0f} train questions × {epochs} epochs × {encodings} texts",
                1,
                train_q * epochs * encodings,
                seconds_per_sequence(encoder, PASSAGE_TOKENS, train=True),
            )
        )
    reader = rag["reader"]
    if reader["fine_tune"] and "extractive" in rag["readers"]:
        training = reader["training"]
        examples = train_q * (1 + training["negatives_per_question"]) * training["epochs"]
        rows.append(
            Work(
                "rag_train_reader",
                f"{train_q:.0f} train questions × (1 + {training['negatives_per_question']}) × {training['epochs']} epochs",
                1,
                examples,
                seconds_per_sequence(reader["model"], reader["max_length"], train=True, head="qa"),
            )
        )
    ranked = dev_q + test_q
    if "hybrid_rerank" in rag["retrievers"] and rag["reranker"]:
        pairs = ranked * 3 * rag["hybrid"]["candidates"]
        rows.append(
            Work(
                "rag_retrieve",
                f"{ranked:.0f} dev+test questions × 3 query variants × {rag['hybrid']['candidates']} candidates re-ranked",
                1,
                pairs,
                seconds_per_sequence(rag["reranker"], PAIR_TOKENS, train=False, head="pair"),
            )
        )
    if "extractive" in rag["readers"]:
        deepest = max(
            rag["top_k"] + ([rag["adaptive"]["max_k"]] if rag["adaptive"]["enabled"] else [])
        )
        windows = ranked * len(rag["read_methods"]) * deepest + test_q * 2 * deepest
        model = reader["model"]
        rows.append(
            Work(
                "rag_read",
                f"≤ {windows:.0f} question-passage windows (dev+test × {len(rag['read_methods'])} methods × top {deepest}, + test perturbations)",
                1,
                windows,
                seconds_per_sequence(model, reader["max_length"], train=False, head="qa"),
            )
        )
    return rows


def multilabel_work(config: dict) -> list[Work]:
    settings = config["multilabel"]
    grid = settings["grid"]
    cells = len(grid["batch_size"]) * len(grid["lr"]) * len(grid["loss"]) * len(grid["seed"])
    units = multilabel_units(config)
    train_units, val_units = (
        units * settings["split_fractions"][0],
        units * settings["split_fractions"][1],
    )
    epochs = settings["training"]["epochs"]
    name = settings["model"]["path"]
    train_s = seconds_per_sequence(name, settings["max_length"], train=True)
    eval_s = seconds_per_sequence(name, settings["max_length"], train=False)
    return [
        Work(
            "multilabel_train",
            f"≤ {epochs} epochs of {train_units:.0f} {settings['unit']}s (+ validation) per cell",
            cells,
            epochs,
            train_units * train_s + val_units * eval_s,
        )
    ]


def plan(config: dict) -> list[Work]:
    experiments = config["experiments"]
    builders = [
        ("gnn", gnn_work),
        ("attention", attention_work),
        ("rag", rag_work),
        ("multilabel", multilabel_work),
    ]
    rows = []
    for name, build in builders:
        if experiments.get(name):
            print(f"pricing {name} ...", file=sys.stderr, flush=True)
            rows += build(config)
    return rows


def table(rows: list[Work], requested: dict[str, dict], gpu_speedup: float) -> pd.DataFrame:
    records = []
    for work in rows:
        request = requested.get(work.rule, {})
        runtime_h = request.get("runtime", 0) / 60
        uses_gpu = request.get("gpu", 0) > 0
        estimate_h = work.cpu_hours_per_job / (gpu_speedup if uses_gpu else 1)
        if not runtime_h:
            flag = "NO REQUEST (profile default applies)"
        else:
            flag = "EXCEEDS REQUEST" if estimate_h > runtime_h else ""
        records.append(
            {
                "rule": work.rule,
                "what it counts": work.counts,
                "jobs": work.jobs,
                "s per item (CPU)": f"{work.seconds_per_item:.3g}",
                "CPU h per job": f"{work.cpu_hours_per_job:.2f}",
                "CPU h total": f"{work.cpu_hours_per_job * work.jobs:.1f}",
                "requests (gpu, mem_mb, runtime h)": f"{request.get('gpu', 0):g}, {request.get('mem_mb', 0):g}, {runtime_h:.1f}",
                "estimate h per job on what it requests": f"{estimate_h:.2f}"
                + (" (GPU)" if uses_gpu else " (CPU)"),
                "flag": flag,
            }
        )
    return pd.DataFrame(records)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configfile",
        default="presets/paper.yaml",
        help="preset merged over config.yaml (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch CPU threads for the timings (default: %(default)s)",
    )
    parser.add_argument(
        "--gpu-speedup",
        type=float,
        default=20.0,
        help="assumed GPU / CPU speed ratio for jobs that request a GPU (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        default="bench/out/paper_scale.md",
        help="markdown table written here (default: %(default)s)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = load_config(ROOT, ROOT / args.configfile)
    requested = requested_resources(args.configfile)
    frame = table(plan(config), requested, args.gpu_speedup)
    text = (
        frame.to_markdown(index=False)
        if hasattr(frame, "to_markdown")
        else frame.to_string(index=False)
    )
    header = (
        f"# Scale plan for {args.configfile}\n\n"
        f"CPU costs timed with {args.threads} torch threads on random-weight models of the same size; "
        f"GPU jobs assumed {args.gpu_speedup:g}× faster than that CPU. Requests are those of the first attempt "
        "(retries multiply memory and runtime).\n\n"
    )
    print(header + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(header + text + "\n")


if __name__ == "__main__":
    main()
