"""The demo's index page and a grade report opened on a phone (390 px, Chromium as a mobile browser): the page is
laid out at the phone's width, no table header is broken inside a word, no plot widens the page.

Seen in the demo workspace: neither file had a viewport, so a phone drew them 980 px wide and shrunk; opened at
390 px the report's table headers broke as "grad" / "e", "probabili" / "ty", its sensor plot widened the page to
686 px, and the index showed every plot 540 px wide, the fusion table's letters about 5 px high.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assetgrade.grading.demo import _write_index
from assetgrade.grading.report import write_report
from assetgrade.modalities.base import Finding
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, LogEntry, SeriesRef

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

# every header cell, as [text, lines it takes] (an inline box broken across lines has one client rect a line)
_HEADERS = """() => [...document.querySelectorAll('th')].map(th => {
    const r = document.createRange(); r.selectNodeContents(th);
    const tops = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
    return [th.textContent, tops.size]; })"""
_WIDTHS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]"


def _report(folder: Path) -> Path:
    t = np.arange(1.0, 221.0)
    frame = pd.DataFrame({"s2": 642 + 0.01 * t, "s3": 1585 + np.sin(t)}, index=pd.Index(t, name="cycle"))
    series = SeriesRef("ev_c7f4c98905c7ce2a1b9c2fa7ac05604e", "0" * 64, load=lambda: frame)
    record = AssetRecord("lnk-00001", asset_type="pv_mono", series=(series,),
                         logs=(LogEntry("ev_log1", "change out 4 x new tyres"),))
    probs = {"A": 0.009, "B": 0.066, "C": 0.697, "D": 0.229}
    finding = Finding(modality="sensors", summary="s2 exceeded 5σ of its commissioning level from 210 to 220 cycles",
                      window=(210.0, 220.0), channels=("s2",), evidence_id=series.evidence_id)
    result = GradeResult(asset_id="lnk-00001", probabilities=probs, grade="C", conformal_set=("C", "D"),
                         coverage=0.9, expected_cost=1004.0, decision="review", asset_type="pv_mono",
                         expected_costs={"A": 5477.0, "B": 3480.0, "C": 1004.0, "D": 2518.0},
                         evidence=(ModalityEvidence("vision", True, {"A": 0.54, "B": 0.2, "C": 0.05, "D": 0.21}),
                                   ModalityEvidence("sensors", True, {"A": 0.0, "B": 0.01, "C": 0.18, "D": 0.81},
                                                    (finding,))),
                         versions={"inputs": "aeb737d18d1bf5ed32a93b4ccbbf40ad0f32240e230f56438b3e0548abfdff78",
                                   "model": "grader-47460cefd658"})
    return write_report(folder / "grade-lnk-00001.html", result, record)


def _index(folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.6))  # as wide as the demo's risk-coverage plot (1,100 px)
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    (folder / "risk_coverage.png").write_bytes(buf.getvalue())
    figures = {"n": 150, "accuracy": 0.633, "qwk": 0.645, "ece": 0.118, "expected_cost": 1275.2, "coverage": 0.9,
               "mean_set_size": 2.25}
    summary = {"assets": 150, "model_version": "grader-47460cefd658", "workspace": "/tmp/demo_ws", "wall_s": 85.0,
               "oof": figures, "fleet_rul": {"histories": 100}, "grade_mix": {"A": 16, "B": 46, "C": 82, "D": 6},
               "decisions": {"review": 150}, "calibration": "temperature",
               "oof_per_modality": {m: {**figures, "extractor_accuracy_on_own_label": 0.7}
                                    for m in ("vision", "text", "sensors")},
               "reports": [str(folder / "grade-lnk-00001.html")],
               "plots": {"risk_coverage": str(folder / "risk_coverage.png")}}
    return _write_index(folder / "index.html", summary, coverage=0.9)


@pytest.fixture(scope="module")
def phone() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        yield ctx.new_page()
        browser.close()


@pytest.mark.parametrize("make", [_report, _index], ids=["report", "index"])
def test_on_a_phone_the_page_fits_and_headers_are_whole_words(phone: Any, tmp_path: Path, make: Any) -> None:
    phone.goto(make(tmp_path).as_uri())
    phone.wait_for_load_state("load")
    scroll, client, inner = phone.evaluate(_WIDTHS)
    assert client == inner == 390, f"laid out {client} px wide, not at the phone's width (no viewport)"
    assert scroll <= client, f"the page is {scroll} px wide on a 390 px phone"
    broken = [(text, lines) for text, lines in phone.evaluate(_HEADERS) if lines > 1 and " " not in text.strip()]
    assert not broken, f"header words broken across lines: {broken}"
    for img in phone.locator("img").all():
        box = img.bounding_box()
        assert box["x"] + box["width"] <= 390.5, img.get_attribute("alt")


def test_the_index_links_each_plot_at_full_size_and_describes_it(tmp_path: Path) -> None:
    page = _index(tmp_path).read_text(encoding="utf-8")
    assert '<a href="risk_coverage.png"><img src="risk_coverage.png" alt="Risk-coverage curves: ' in page


def _audit(folder: Path) -> Path:
    """The audit report as the demo workspace's gave it: long check names and messages (it was 632 px wide)."""
    from assetgrade.audit.base import AuditReport, CheckResult
    from assetgrade.audit.report import write_report as write_audit

    flags = np.zeros(150, dtype=bool)
    flags[:12] = True
    checks = {name: CheckResult(name, np.linspace(0, 1, 150), flags if not ok else np.zeros(150, dtype=bool), score,
                                ok, message)
              for name, ok, score, message in (
                  ("coverage", False, 0.375, "3 of 8 cells have >= 20 real expert-labelled items; most needed: "
                   "D/pv_mono/unknown, D/pv_poly/unknown, A/pv_mono/unknown"),
                  ("duplicates", False, 0.92, "7 near-duplicate pairs within splits, 0 across splits (leakage), "
                   "0 assets in more than one split; 8.0% of items flagged"),
                  ("synthetic_share", True, 1.0, "all 4 cells within 10% synthetic/augmented"))}
    out = folder / "audit.html"
    write_audit(AuditReport(checks, 150, [f"lnk-{i:05d}" for i in range(150)]), html_path=out)
    return out


def test_the_audit_report_fits_a_phone(phone: Any, tmp_path: Path) -> None:
    phone.goto(_audit(tmp_path).as_uri())
    phone.wait_for_load_state("load")
    scroll, client, inner = phone.evaluate(_WIDTHS)
    assert client == inner == 390 and scroll <= client, (scroll, client, inner)
    table = phone.locator("table").first
    assert table.evaluate("t => getComputedStyle(t.parentElement).overflowX") == "auto"  # it scrolls, not the page
