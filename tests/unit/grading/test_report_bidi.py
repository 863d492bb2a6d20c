"""Bidi controls inside longer texts of the HTML report, and where the report sends a reader for what it leaves off.

A right-to-left override (U+202E) was left to ``<bdi>``: that keeps it from reversing what follows the element, but
not the rest of the text inside it, so a log entry, a reason, a finding's summary (also in a ``title=``), a grade
name or a series id read backwards from the override on. Every bidi control (U+202A ... U+202E, U+2066 ... U+2069,
U+200E, U+200F, U+061C) now shows as its code point everywhere, through the one helper the review UI uses too
(``assetgrade.grading.visible``). tests/integration/test_report_bidi_browser.py checks the order in chromium.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd

from assetgrade.grading.report import REPORT_FINDINGS_SHOWN, REPORT_SHOWN, REPORT_TEXT_SHOWN, render_report
from assetgrade.modalities.base import Finding
from assetgrade.result import ContradictionInfo, GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

from .conftest import image_png, series_frame

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
RLO = "\u202e"
SHOWN_RLO = "⟨U+202E⟩"
WEB_UI = "the asset's page in the review UI shows"


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _frame(frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    return lambda: frame.copy()


def _raw_bidi(html: str) -> list[str]:
    return sorted(f"U+{ord(c):04X}" for c in set(BIDI) & set(html))


def test_an_override_inside_a_longer_text_is_shown_not_obeyed_anywhere() -> None:
    text = f"oil leak at {RLO}seal (pump) then a crack"
    a = text.index("leak")
    findings = {
        "text": (Finding("text", f"leak {RLO}quoted (pump)", span=(a, a + 4), evidence_id=f"log-{RLO}1"),),
        "vision": (Finding("vision", f"dent {RLO}on (pump)", evidence_id=f"img-{RLO}1", region=(1, 1, 9, 9)),),
        "sensors": (Finding("sensors", f"drift {RLO}in (pump)", evidence_id=f"ser-{RLO}1"),),
    }
    evidence = tuple(ModalityEvidence(m, True, {"A": 0.5, f"B{RLO}x": 0.5}, f, (f"{m}: flag {RLO}(pump)",))
                     for m, f in findings.items())
    p = {"A": 0.3, f"B{RLO}x (pump)": 0.7}
    result = GradeResult(asset_id=f"pump-{RLO}7 (pump)", probabilities=p, grade=f"B{RLO}x (pump)",
                         conformal_set=tuple(p), coverage=0.9, expected_cost=1.0, decision="review",
                         reasons=(f"the log says {RLO}seal (pump) at night", "every bidi control " + BIDI),
                         evidence=evidence, expected_costs=dict.fromkeys(p, 1.0), asset_type=f"pump {RLO}(x)",
                         contradictions=(ContradictionInfo(("text", "vision"), ("A", "D"), 3,
                                                           f"text says {RLO}A (pump), vision D"),),
                         quality_flags=(f"text: odd {RLO}entry (pump)",))
    empty = series_frame(1, 0).iloc[:0]  # nothing to plot: its id and why are written as text
    rec = AssetRecord(result.asset_id, images=(ImageRef(f"img-{RLO}1", "sha", _const(b"not an image")),),
                      logs=(LogEntry(f"log-{RLO}1", text, datetime(2024, 1, 2)),),
                      series=(SeriesRef(f"ser-{RLO}1", "sha2", _frame(empty)),))
    html = render_report(result, rec)
    assert _raw_bidi(html) == []
    assert f"oil leak at {SHOWN_RLO}seal (pump) then a crack" in re.sub(r"<[^>]+>", "", html)
    assert f'title="leak {SHOWN_RLO}quoted (pump)"' in html  # in an attribute too
    assert f"<bdi>the log says {SHOWN_RLO}seal (pump) at night</bdi>" in html
    shown_all = "".join(f"⟨U+{ord(c):04X}⟩" for c in BIDI)
    assert f"every bidi control {shown_all}" in html
    for quoted in (f"B{SHOWN_RLO}x (pump)", f"text says {SHOWN_RLO}A (pump)", f"odd {SHOWN_RLO}entry (pump)",
                   f"dent {SHOWN_RLO}on (pump)", f"drift {SHOWN_RLO}in (pump)", f"img-{SHOWN_RLO}1",
                   f"ser-{SHOWN_RLO}1", f"pump-{SHOWN_RLO}7 (pump)"):
        assert quoted in html, quoted
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)  # type: ignore[union-attr]
    assert title == f"Grade report: &#x2068;pump-{SHOWN_RLO}7 (pump)&#x2069;"  # the isolate itself kept


def test_every_capped_list_says_where_the_rest_are() -> None:
    """A static report has no "show all": each list it caps said how many it left off but not where to see them."""
    png = image_png(1, 0)
    n_img, n_log, n_ser = REPORT_SHOWN["image"] + 2, REPORT_SHOWN["log"] + 3, REPORT_SHOWN["series"] + 1
    images = tuple(ImageRef(f"img-{i}", f"sha-{i}", _const(png)) for i in range(n_img))
    day = datetime(2020, 1, 1)
    logs = (LogEntry("long", "leak " * REPORT_TEXT_SHOWN, day),
            *(LogEntry(f"log-{i}", f"entry {i}", day + timedelta(days=i)) for i in range(n_log - 1)))
    series = tuple(SeriesRef(f"ser-{i}", f"s{i}", _frame(series_frame(1, 0).iloc[:0])) for i in range(n_ser))
    many = REPORT_FINDINGS_SHOWN + 3
    vision = tuple(Finding("vision", f"dent {i}", evidence_id="img-0", region=(1, 1, 9, 9)) for i in range(many))
    sensors = tuple(Finding("sensors", f"drift {i}", evidence_id="ser-0") for i in range(many))
    text = tuple(Finding("text", f"leak {i}", span=(5 * i, 5 * i + 4), evidence_id="long") for i in range(30))
    ev = (ModalityEvidence("vision", True, None, vision), ModalityEvidence("sensors", True, None, sensors),
          ModalityEvidence("text", True, None, text))
    p = {"A": 0.5, "B": 0.5}
    result = GradeResult(asset_id="p", probabilities=p, grade="A", conformal_set=("A",), coverage=0.9,
                         expected_cost=1.0, decision="review", evidence=ev, expected_costs=dict.fromkeys(p, 1.0),
                         quality_flags=tuple(f"flag {i}" for i in range(25)))
    html = render_report(result, AssetRecord("p", images=images, logs=logs, series=series))
    text_only = re.sub(r"<[^>]+>", "", html)
    lines = [line for line in text_only.splitlines() if "not in this report" in line or "… " in line]
    for what in ("2 more images", "3 more log entries", "1 more series", "more characters",
                 f"{many - REPORT_FINDINGS_SHOWN} more findings", "… 5 more", "… 10 more"):
        hit = [line for line in lines if what in line]
        assert hit, (what, lines)
        assert all(WEB_UI in line for line in hit), (what, hit)
