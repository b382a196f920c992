"""The report's building blocks: HTML tables, section texts and captions, the run header."""

import pandas as pd
from conftest import ROOT

from medlab.config import load_config
from medlab.report.render import render_report
from medlab.report.runinfo import describe_models, models_in_config
from medlab.report.sections import (
    _cell_settings_as_text,
    _comparison_blocks,
    _grid_row_kind,
    epochs_caption,
    label_balance,
)
from medlab.report.tables import html_table


def test_html_table_marks_best_and_formats():
    frame = pd.DataFrame(
        {
            "variant": ["a", "b", "<c>"],
            "auroc": [0.91234, 0.95, float("nan")],
            "loss": [0.3, 0.1, 0.2],
        }
    )
    html = html_table(frame, best={"auroc": "max", "loss": "min"}, digits=3)
    assert '<td class="best">0.950</td>' in html and '<td class="best">0.100</td>' in html
    assert "0.912" in html and "not computed" in html and "&lt;c&gt;" in html
    assert "5e-05" in html_table(pd.DataFrame({"lr": [5e-5, 0.001]}))


def test_not_computed_cells_show_their_reason():
    frame = pd.DataFrame({"auroc": [float("nan"), 0.8], "auroc_note": ["all 5 answers wrong", ""]})
    html = html_table(frame)
    assert (
        "not computed: all 5 answers wrong" in html and "auroc_note" not in html and "0.800" in html
    )


def test_multilabel_framing_comes_from_the_prevalence_table():
    prevalence = pd.DataFrame(
        {"label": ["none", "sustaining", "invasion"], "prevalence": [0.41, 0.12, 0.0083]}
    )
    text = label_balance(prevalence)
    assert text == "3 labels, from 'none' on 41.0% of examples down to 'invasion' on 0.83%"


def test_epochs_caption_names_only_the_columns_present():
    retriever = pd.DataFrame(columns=["epoch", "train_loss", "pairs", "hard_negatives", "seconds"])
    reader = pd.DataFrame(columns=["epoch", "train_loss", "dev_exact_match", "dev_f1", "seconds"])
    assert "dev" not in epochs_caption(retriever) and "hard negative" in epochs_caption(retriever)
    assert "dev scores" in epochs_caption(reader) and "hard negative" not in epochs_caption(reader)


def test_comparison_with_fewer_than_two_variants_is_omitted_naming_what_to_enable():
    row = {
        "dataset": "b3db",
        "split": "random",
        "n_seeds": 1,
        **{
            f"{m}_{s}": 0.5
            for m in ("test_roc_auc", "test_pr_auc", "mcc_at_0.5")
            for s in ("mean", "std")
        },
        "collapse_gap_mean": 0.0,
    }
    comparisons = pd.DataFrame(
        [
            {"comparison": "aggregation", "variant": "gcn", **row},
            {"comparison": "aggregation", "variant": "gat_edge", **row},
            {"comparison": "regularization", "variant": "gat_edge", **row},
        ]
    )
    configured = {
        "aggregation": ["gcn", "gat_edge"],
        "regularization": ["gat_no_dropout", "gat_edge"],
        "size_and_depth": ["gat_small", "gat_deep"],
    }
    blocks = _comparison_blocks(comparisons, configured)
    assert [b["title"] for b in blocks] == ["Comparison: aggregation", "Comparisons not shown"]
    note = blocks[-1]["html"]
    assert "regularization (ran: gat_edge; add gat_no_dropout to gnn.run_variants)" in note
    assert "size_and_depth (ran: none; add gat_small, gat_deep to gnn.run_variants)" in note


def test_run_header_lists_models_with_origin_and_parameters(tmp_path):
    models = describe_models(models_in_config(load_config(ROOT, ROOT / "presets/paper.yaml")))
    by_model = {m["model"]: m for m in models}
    packaged = by_model["packaged:all-MiniLM-L6-v2"]
    assert packaged["origin"].startswith("packaged") and packaged["parameters"] == "22.7 M"
    assert by_model["roberta-base"]["origin"] == "Hugging Face hub"
    assert by_model["deepset/roberta-base-squad2"]["role"] == "extractive reader"
    header = {
        "preset": "paper",
        "commit": "abc",
        "date": "today",
        "device": "CPU",
        "versions": {},
        "models": models,
        "rule_times": pd.DataFrame(columns=["rule", "jobs", "total_s", "max_s", "max_rss_mb"]),
        "provenance": [],
    }
    render_report(tmp_path / "index.html", "t", header, [], [])
    page = (tmp_path / "index.html").read_text()
    assert "<h3>Models</h3>" in page and "cross-encoder/ms-marco-MiniLM-L-6-v2" in page


def test_grid_rows_name_their_kind_and_show_missing_settings_as_dashes():
    grid = pd.DataFrame(
        {
            "batch_size": [16.0, float("nan"), float("nan")],
            "lr": [5e-5, float("nan"), float("nan")],
            "loss": ["bce", float("nan"), float("nan")],
            "seed": [0.0, float("nan"), float("nan")],
            "ensemble": [float("nan"), "bs16_lr5e-05_bce_seed0+tfidf", float("nan")],
            "baseline": [float("nan"), float("nan"), "tfidf"],
        }
    )
    kinds = [_grid_row_kind(row) for row in grid.to_dict("records")]
    assert kinds == ["fine-tuned", "ensemble", "TF-IDF baseline"]
    settings = _cell_settings_as_text(grid)
    assert settings["batch_size"] == ["16", "—", "—"] and settings["lr"] == ["5e-05", "—", "—"]
    assert settings["loss"] == ["bce", "—", "—"] and settings["seed"] == ["0", "—", "—"]
