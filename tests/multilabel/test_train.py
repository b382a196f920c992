import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from medlab.multilabel.data import (
    clean_table,
    hallmarks_from_label_text,
    label_matrix,
    label_statistics,
    read_hallmarks_sentences,
    read_hallmarks_zip,
    stratified_split,
)
from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.metrics import (
    apply_calibrators,
    expected_calibration_error,
    fit_calibrators,
    global_threshold,
    per_class_thresholds,
    ranking_and_threshold_metrics,
)
from medlab.multilabel.synthetic import LABELS, generate_notes
from medlab.multilabel.train import (
    FineTuneSpec,
    NonFiniteLossError,
    fine_tune,
    oversampling_weights,
    parameter_groups,
)


def test_synthetic_notes_are_seeded_and_imbalanced():
    notes = generate_notes(1500, seed=1)
    assert notes.equals(generate_notes(1500, seed=1)) and not notes.equals(
        generate_notes(1500, seed=2)
    )
    matrix = label_matrix(notes, LABELS)
    assert matrix[:, 0].mean() >= 0.9  # 'healthy'
    assert (matrix.sum(1) >= 1).all() and (matrix.sum(0) > 0).all()
    assert matrix[:, 1:].mean() < 0.05


def test_clean_table_drops_and_counts_bad_rows():
    table = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "a"],
            "text": ["fine", "  ", "fine", "fine", "dup"],
            "labels": [["healthy"], ["healthy"], ["flu"], [], ["healthy"]],
        }
    )
    clean, dropped = clean_table(table, LABELS, source="toy")
    assert clean["id"].tolist() == ["a"]
    assert dict(zip(dropped["row"], dropped["reason"])) == {
        1: "empty text",
        2: "labels ['flu'] not in the label set",
        3: "no labels",
        4: "duplicate id",
    }
    with pytest.raises(ValueError, match="toy: no valid rows"):
        clean_table(table.iloc[1:4], LABELS, source="toy")


def test_iterative_split_puts_rare_labels_in_every_split():
    notes = generate_notes(600, seed=0)
    matrix = label_matrix(notes, LABELS)
    split = stratified_split(matrix, (0.8, 0.1, 0.1), seed=0)
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(600))
    assert len(split["test"]) == pytest.approx(60, abs=3)
    stats = label_statistics(matrix, split, LABELS)["prevalence"]
    enough = stats[stats["count"] >= 10]
    assert (enough[["train_positives", "val_positives", "test_positives"]] > 0).all().all()


def test_hallmark_label_parsing():
    raw = "Sustaining proliferative signaling--Cell cycle AND Resisting cell death<NULL<<Genomic instability and mutation"
    assert hallmarks_from_label_text(raw) == [
        "Genomic instability and mutation",
        "Resisting cell death",
        "Sustaining proliferative signaling",
    ]
    assert hallmarks_from_label_text("NULL<") == ["none"]


def write_hoc_zip(path, abstracts: dict[str, tuple[str, str]]):
    """A Hallmarks of Cancer archive: PMID -> (text, one sentence per line; '<'-led label fields)."""
    with zipfile.ZipFile(path, "w") as archive:
        for pmid, (text, labels) in abstracts.items():
            archive.writestr(f"Hallmarks-of-Cancer-master/text/{pmid}.txt", text)
            archive.writestr(f"Hallmarks-of-Cancer-master/labels/{pmid}.txt", labels)
    return path


def test_read_hallmarks_zip(tmp_path):
    path = write_hoc_zip(
        tmp_path / "hoc.zip",
        {
            "1": ("First abstract .\nSecond line .", "<Inducing angiogenesis--X<NULL"),
            "2": ("Other abstract .", "< "),
        },
    )
    table = read_hallmarks_zip(path)
    assert (
        table["id"].tolist() == ["1", "2"] and table["text"][0] == "First abstract . Second line ."
    )
    assert table["labels"].tolist() == [["Inducing angiogenesis"], ["none"]]


def test_read_hallmarks_sentences_aligns_labels_with_lines(tmp_path):
    path = write_hoc_zip(
        tmp_path / "hoc.zip",
        {
            "1": (
                "First sentence .\n\nSecond  sentence .\nThird .\n",
                "< <Inducing angiogenesis--X ANDResisting cell death--Y<NULL",
            ),
            "2": ("Other abstract .", "< "),
        },
    )
    sentences = read_hallmarks_sentences(path)
    assert sentences["id"].tolist() == ["1_000", "1_001", "1_002", "2_000"]
    assert (
        sentences["document"].tolist() == ["1", "1", "1", "2"]
        and sentences["text"][1] == "Second sentence ."
    )
    assert sentences["labels"].tolist() == [
        ["none"],
        ["Inducing angiogenesis", "Resisting cell death"],
        ["none"],
        ["none"],
    ]
    assert read_hallmarks_sentences(path, documents=["2"])["id"].tolist() == ["2_000"]


def test_read_hallmarks_sentences_names_a_misaligned_file(tmp_path):
    path = write_hoc_zip(tmp_path / "hoc.zip", {"7": ("One .\nTwo .", "<Inducing angiogenesis")})
    with pytest.raises(ValueError, match=r"labels/7.txt has 1 sentence labels for 2 sentences"):
        read_hallmarks_sentences(path)


def test_roll_up_takes_any_sentence_and_all_for_the_empty_label():
    from medlab.multilabel.units import roll_up

    labels = ["a", "b", "none"]
    probabilities = np.array([[0.9, 0.1, 0.1], [0.2, 0.3, 0.8], [0.1, 0.2, 0.9], [0.4, 0.6, 0.3]])
    documents = ["x", "x", "y", "y"]
    rolled = roll_up(probabilities, documents, ["y", "x"], labels, empty_label="none")
    assert rolled.tolist() == [[0.4, 0.6, 0.3], [0.9, 0.3, 0.1]]
    assert (
        roll_up(probabilities, documents, ["x"], labels)[0, 2] == 0.8
    )  # no empty label: max everywhere
    with pytest.raises(ValueError, match="no units"):
        roll_up(probabilities, documents, ["x", "z"], labels)


def test_metrics_exclude_labels_without_positives():
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0]])
    probs = np.array([[0.9, 0.2, 0.1], [0.8, 0.7, 0.2], [0.3, 0.6, 0.1], [0.7, 0.4, 0.3]])
    metrics = ranking_and_threshold_metrics(labels, probs, 0.5)
    assert metrics["labels_excluded"] == 1 and metrics["macro_f1"] == pytest.approx(1.0)
    assert metrics["micro_f1"] == pytest.approx(1.0)


def test_thresholds_and_calibration_are_fitted_on_validation_only():
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random((n, 2)) < [0.5, 0.1]).astype(int)
    # scores that rank well but are squashed towards 0.2: miscalibrated, and 0.5 misses everything
    p = np.clip(0.1 + 0.2 * y + rng.normal(0, 0.05, (n, 2)), 0.001, 0.999)
    assert (per_class_thresholds(y, p) < 0.5).all() and global_threshold(y, p) < 0.5
    calibrated = apply_calibrators(fit_calibrators(y[:200], p[:200], "isotonic"), p[200:])
    assert expected_calibration_error(y[200:], calibrated) < expected_calibration_error(
        y[200:], p[200:]
    )
    frame = pd.DataFrame({"id": range(n), "split": ["val"] * 200 + ["test"] * 200})
    for j, label in enumerate(["a", "b"]):
        frame[f"true_{label}"], frame[f"prob_{label}"] = y[:, j], p[:, j]
    metrics, per_class = evaluate_predictions(frame, ["a", "b"])
    assert metrics["thresholds"]["per_class"]["a"] == pytest.approx(
        per_class_thresholds(y[:200], p[:200])[0]
    )
    assert metrics["per_class_thresholds"]["macro_f1"] > metrics["at_0.5"]["macro_f1"]
    assert metrics["ece"]["platt"] < metrics["ece"]["raw"]
    assert per_class["tp_0.5"].sum() == 0 and per_class["tp_tuned"].sum() > 0


def test_oversampling_weights_favour_rare_labels():
    labels = np.array([[1, 0], [1, 0], [1, 0], [1, 1]])
    weights = oversampling_weights(labels)
    assert weights[3] > weights[0] and weights[0] >= 1


def _finetune_spec(**options) -> FineTuneSpec:
    """A small fine-tuning run: the given options over fixed test settings."""
    settings = dict(
        loss="bce",
        epochs=3,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        layer_lr_decay=1.0,
        early_stopping_metric="macro_f1",
        patience=2,
        oversample=False,
        focal_gamma=2.0,
        group_by_length=True,
    )
    return FineTuneSpec(**{**settings, **options})


@pytest.fixture(scope="module")
def tiny_model_and_data():
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from medlab.multilabel.tokenize import tokenize_table, torch_view
    from medlab.pretrained import load_pretrained

    torch.set_num_threads(1)
    notes = generate_notes(48, seed=0)
    tokenizer = load_pretrained(AutoTokenizer, "packaged:all-MiniLM-L6-v2")
    dataset = tokenize_table(notes, LABELS, tokenizer, 32)
    make_model = lambda: load_pretrained(  # noqa: E731
        AutoModelForSequenceClassification,
        "packaged:all-MiniLM-L6-v2",
        num_labels=len(LABELS),
        problem_type="multi_label_classification",
    )
    return (
        make_model,
        torch_view(dataset, list(range(32))),
        torch_view(dataset, list(range(32, 48))),
    )


def test_layer_wise_lr_decay_groups(tiny_model_and_data):
    make_model, _, _ = tiny_model_and_data
    groups = parameter_groups(make_model(), lr=1e-4, weight_decay=0.01, layer_lr_decay=0.5)
    rates = sorted({round(g["lr"], 12) for g in groups})
    assert rates[-1] == pytest.approx(1e-4) and rates[0] == pytest.approx(
        1e-4 * 0.5**7
    )  # 6 layers + embeddings
    assert any(g["weight_decay"] == 0.0 for g in groups)


@pytest.mark.parametrize("loss", ["bce", "weighted_bce", "focal", "asymmetric"])
def test_fine_tune_runs_and_logs(tiny_model_and_data, loss):
    make_model, train, val = tiny_model_and_data
    spec = _finetune_spec(batch_size=16, lr=1e-4, loss=loss, epochs=1, oversample=loss == "bce")
    result = fine_tune(make_model(), train, val, spec, seed=0, device=torch.device("cpu"))
    assert len(result.steps) == 2 and result.steps["loss"].notna().all()
    assert {"val_macro_f1", "examples_per_s", "peak_memory_mb"} <= set(result.epochs.columns)


def test_nan_loss_stops_with_clear_error(tiny_model_and_data, tmp_path):
    make_model, train, val = tiny_model_and_data
    spec = _finetune_spec(batch_size=16, lr=float("inf"), epochs=2, max_grad_norm=float("inf"))
    with pytest.raises(NonFiniteLossError, match="loss is nan"):
        fine_tune(
            make_model(),
            train,
            val,
            spec,
            seed=0,
            device=torch.device("cpu"),
            checkpoint_path=tmp_path / "best.pt",
        )


def test_undefined_validation_metric_keeps_latest_weights(tiny_model_and_data):
    make_model, train, val = tiny_model_and_data
    healthy_only = [
        i for i in range(len(val)) if val[i]["labels"].sum() == 1 and val[i]["labels"][0] == 1
    ]
    spec = _finetune_spec(batch_size=16, lr=1e-4, epochs=2, patience=1)
    result = fine_tune(
        make_model(), train, val.select(healthy_only), spec, seed=0, device=torch.device("cpu")
    )
    assert result.epochs["val_macro_f1"].isna().all()
    assert result.best_epoch == 2 and len(result.epochs) == 2


def test_sentence_transformers_pooler_is_reinitialised(tmp_path):
    """The packaged encoder's unused [CLS] pooler is re-initialised; a plain checkpoint keeps its own."""
    from medlab.multilabel.train import new_classifier

    packaged = new_classifier("packaged:all-MiniLM-L6-v2", 3)
    weight = packaged.base_model.pooler.dense.weight
    assert abs(weight.std().item() - packaged.config.initializer_range) < 0.002
    assert packaged.base_model.pooler.dense.bias.abs().max().item() == 0.0
    packaged.base_model.pooler.dense.bias.data.fill_(0.5)
    packaged.save_pretrained(tmp_path)  # no modules.json: an ordinary transformers checkpoint
    plain = new_classifier(str(tmp_path), 3)
    assert plain.base_model.pooler.dense.bias.min().item() == 0.5


def test_trimmed_padding_and_length_sorted_prediction_keep_outputs(tiny_model_and_data):
    """Batches cut to their longest row and sorted by length give the padded, in-order result."""
    from medlab.multilabel.train import predict_probabilities
    from medlab.training import trim_padding

    make_model, _, val = tiny_model_and_data
    model = make_model().eval()
    short = [
        i
        for i, n in enumerate(val[:]["attention_mask"].sum(1).tolist())
        if n < val[0]["input_ids"].shape[0]
    ][:8]
    batch = val[short]
    trimmed = trim_padding(batch)
    assert (
        trimmed["input_ids"].shape[1]
        == int(batch["attention_mask"].sum(1).max())
        < batch["input_ids"].shape[1]
    )
    with torch.no_grad():
        padded = torch.sigmoid(
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        )
    assert np.allclose(
        predict_probabilities(model, val.select(short), torch.device("cpu"), batch_size=3),
        padded.numpy(),
        atol=1e-5,
    )


def test_length_grouped_batches_are_seeded(tiny_model_and_data):
    make_model, train, val = tiny_model_and_data
    spec = _finetune_spec(batch_size=16, lr=1e-4, epochs=1, group_by_length=True)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)  # the same classifier head both times
        losses.append(
            fine_tune(make_model(), train, val, spec, seed=3, device=torch.device("cpu"))
            .steps["loss"]
            .tolist()
        )
    assert losses[0] == losses[1]


def test_sentence_units_train_and_predict_per_document():
    """Units of a document stay in its split part; predictions come back one row per document."""
    from transformers import AutoTokenizer

    from medlab.multilabel.runner import prediction_table, split_parts, train_on_parts
    from medlab.multilabel.tokenize import tokenize_table
    from medlab.multilabel.train import new_classifier
    from medlab.pretrained import load_pretrained

    torch.set_num_threads(1)
    notes = generate_notes(60, seed=1)
    # 24 notes, the validation four with both classes of 'healthy' so the epoch score is defined
    unhealthy = [i for i, labels in enumerate(notes["labels"]) if "healthy" not in labels]
    healthy = [i for i in range(len(notes)) if i not in unhealthy]
    notes = notes.iloc[healthy[:19] + unhealthy[:1] + healthy[19:23]].reset_index(drop=True)
    halves = [
        (note.id, half, note.labels)
        for note in notes.itertuples()
        for half in note.text.split(". ", 1)
    ]
    units = pd.DataFrame(
        [
            {"id": f"{doc}_{n}", "document": doc, "text": text, "labels": labels}
            for n, (doc, text, labels) in enumerate(halves)
        ]
    )
    tokens = tokenize_table(
        units, LABELS, load_pretrained(AutoTokenizer, "packaged:all-MiniLM-L6-v2"), 24
    )
    split = {"train": list(range(16)), "val": list(range(16, 20)), "test": list(range(20, 24))}
    parts = split_parts(tokens, notes, split, LABELS, empty_label="healthy")
    assert [len(parts[p].documents) for p in ("train", "val", "test")] == [16, 4, 4]
    assert len(parts["train"].units) == sum(doc in set(notes.id[:16]) for doc, _, _ in halves)
    assert set(parts["test"].unit_documents) == set(notes.id[20:])
    torch.manual_seed(0)
    model = new_classifier("packaged:all-MiniLM-L6-v2", len(LABELS))
    result = train_on_parts(
        model,
        parts,
        _finetune_spec(batch_size=8, lr=1e-4, epochs=1),
        seed=0,
        device=torch.device("cpu"),
    )
    assert result.epochs["val_mean_average_precision"].notna().all()
    table = prediction_table(model, parts, torch.device("cpu"))
    assert table["id"].tolist() == notes.id[16:24].tolist()
    assert (
        table[[f"true_{label}" for label in LABELS]].to_numpy().tolist()
        == label_matrix(notes, LABELS)[16:24].tolist()
    )
