"""The report of a tiny-preset run: a self-contained page, rendered in a real browser
(headless Chromium), and Snakemake's own --report."""

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, snakemake

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
