"""A right-to-left override inside a longer text of the HTML report, drawn by chromium: the rest of the text keeps its
order (test_report_bidi.py checks the markup; test_report_browser.py the override in an id)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from assetgrade.grading.report import render_report
from assetgrade.modalities.base import Finding
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, LogEntry

from .test_report_browser import ARGS, CHROMIUM

RLO = "\u202e"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

ORDER = """(sel) => [...document.querySelectorAll(sel)].map((el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const at = (ch) => { walker.currentNode = walker.root; let n;
        while ((n = walker.nextNode())) { const i = n.data.indexOf(ch);
            if (i >= 0) { const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
                          return r.getBoundingClientRect().left; } } return null; };
    return [el.textContent, ['(', 'p', 'u', 'm', ')'].map(at)];
})"""
"""Per element that ``sel`` finds: its text and the left edges of the letters of '(pump)', each first found."""


def test_an_override_inside_a_log_entry_or_a_reason_does_not_reverse_the_rest(tmp_path: Path) -> None:
    text = f"oil leak at {RLO}seal (pump) then"
    a = text.index("leak")
    found = (Finding("text", "leak", span=(a, a + 4), evidence_id="log-1"),)
    p = {"A": 0.4, "B": 0.6}
    result = GradeResult(asset_id="a-1", probabilities=p, grade="B", conformal_set=("B",), coverage=0.9,
                         expected_cost=1.0, decision="review", reasons=(f"the entry says {RLO}oil (pump) at night",),
                         evidence=(ModalityEvidence("text", True, None, found),), expected_costs=dict.fromkeys(p, 1.0),
                         quality_flags=(f"text: odd {RLO}x (pump)",))
    out = tmp_path / "report.html"
    out.write_text(render_report(result, AssetRecord("a-1", logs=(LogEntry("log-1", text, datetime(2024, 1, 2)),))),
                   encoding="utf-8")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(out.as_uri())
            rows = page.evaluate(ORDER, "table tr td:nth-child(2), ul li")
        finally:
            browser.close()
    texts = [t for t, _ in rows]
    for start in ("oil leak at ", "the entry says ", "text: odd "):
        lefts = next((left for t, left in rows if t.startswith(start)), None)
        assert lefts is not None, (start, texts)
        assert None not in lefts and lefts == sorted(lefts), (start, lefts, texts)  # '(pump)' drawn as '(pump)'
    assert "oil leak at \u27e8U+202E\u27e9seal (pump) then" in texts  # the override shown, where it was
