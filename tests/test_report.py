"""The HTML report: table formatting, the rendered tiny-preset page in a real browser
(headless Chromium), and Snakemake's own --report."""

import json
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, snakemake

from medlab.report.tables import html_table

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


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


@pytest.mark.slow
def test_report_is_self_contained_and_small(tiny_run):
    workflow, _ = tiny_run
    page = (workflow / "results/report/index.html").read_text()
    assert (workflow / "results/report/index.html").stat().st_size < 10 * 2**20
    assert (
        "http://" not in page.replace("http://www.w3.org", "")
        and "https://" not in page.split("<body>")[1].split("Data provenance")[0]
    )
    assert "<script" not in page
    for text in (
        "Preset",
        "Git commit",
        "Device",
        "Data provenance",
        "Wall time per rule",
        "Rows used and dropped",
        "qc-b3db",
    ):
        assert text in page


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        reason = "headless Chromium tests need Debian's chromium and chromium-driver"
        if os.environ.get("MEDLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(
        f"--user-data-dir={Path(os.environ.get('TMPDIR', '/tmp')) / f'medlab-chromium-{os.getpid()}'}"
    )
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_in_headless_chromium(tiny_run):
    from selenium.webdriver.common.by import By

    workflow, _ = tiny_run
    page_url = (workflow / "results/report/index.html").as_uri()
    browser = _browser()
    try:
        browser.get(page_url)
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        for expected in ("Experiment 1", "Experiment 2", "Experiment 3", "Experiment 4"):
            assert any(h.startswith(expected) for h in headings), headings
        images = browser.find_elements(By.TAG_NAME, "img")
        assert images
        widths = [
            browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
            for img in images
        ]
        assert all(width and width > 0 for width in widths), widths
        events = [
            json.loads(entry["message"])["message"] for entry in browser.get_log("performance")
        ]
        # requests made by the report page (the browser's own start page is not ours)
        requests = [
            event["params"]["request"]["url"]
            for event in events
            if event["method"] == "Network.requestWillBeSent"
            and event["params"].get("documentURL") == page_url
        ]
        assert page_url in requests
        outside = [url for url in requests if not url.startswith(("file://", "data:"))]
        assert outside == [], outside
        ARTIFACTS.mkdir(exist_ok=True)
        _full_page_screenshot(browser, ARTIFACTS / "report_tiny.png")
    finally:
        browser.quit()
    assert (ARTIFACTS / "report_tiny.png").stat().st_size > 10_000


def _full_page_screenshot(browser, path: Path) -> None:
    import base64

    metrics = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.slow
def test_snakemake_report_zip(tiny_run):
    workflow, env = tiny_run
    result = snakemake(
        workflow, "--report", "report.zip", "--configfile", "presets/tiny.yaml", env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(workflow / "report.zip") as archive:
        names = archive.namelist()
    assert any(name.endswith("index.html") for name in names)
    assert any("training_curves.png" in name for name in names)
    (workflow / "report.zip").unlink()


def test_multilabel_framing_comes_from_the_prevalence_table():
    from medlab.report.sections import label_balance

    prevalence = pd.DataFrame(
        {"label": ["none", "sustaining", "invasion"], "prevalence": [0.41, 0.12, 0.0083]}
    )
    text = label_balance(prevalence)
    assert text == "3 labels, from 'none' on 41.0% of examples down to 'invasion' on 0.83%"


def test_epochs_caption_names_only_the_columns_present():
    from medlab.report.sections import epochs_caption

    retriever = pd.DataFrame(columns=["epoch", "train_loss", "pairs", "hard_negatives", "seconds"])
    reader = pd.DataFrame(columns=["epoch", "train_loss", "dev_exact_match", "dev_f1", "seconds"])
    assert "dev" not in epochs_caption(retriever) and "hard negative" in epochs_caption(retriever)
    assert "dev scores" in epochs_caption(reader) and "hard negative" not in epochs_caption(reader)


def test_comparison_with_fewer_than_two_variants_is_omitted_naming_what_to_enable():
    from medlab.report.sections import _comparison_blocks

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
    from medlab.config import load_config
    from medlab.report.render import render_report
    from medlab.report.runinfo import describe_models, models_in_config

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
