"""The HTML report of an asset with very many images, log entries, series or findings, and with invisible characters.

An asset with thousands of photos or log entries made a report of every one of them (each image decoded and drawn,
each series plotted): the report, like the review UI's asset page, shows at most ``REPORT_SHOWN`` of each kind,
those the findings name first, and says how many more there are. C1 controls, zero-width characters and bidi
marks show as their code points.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd

from assetgrade.grading.report import REPORT_FINDINGS_SHOWN, REPORT_SHOWN, render_report
from assetgrade.modalities.base import Finding
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

from .conftest import image_png, series_frame


def _result(evidence: tuple[ModalityEvidence, ...] = (), aid: str = "p", reasons: tuple[str, ...] = ("r",)
            ) -> GradeResult:
    p = {"A": 0.1, "B": 0.2, "C": 0.6, "D": 0.1}
    return GradeResult(asset_id=aid, probabilities=p, grade="C", conformal_set=("C",), coverage=0.9,
                       expected_cost=1.0, decision="review", reasons=reasons, evidence=evidence,
                       expected_costs=dict.fromkeys(p, 1.0))


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _frame(frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    return lambda: frame.copy()


def test_500_images_and_2000_log_entries_are_capped_findings_first_then_newest() -> None:
    """Every image was decoded and drawn and every entry written: 500 photos and 2,000 entries made a report of
    all of them. Now at most REPORT_SHOWN of each, those the findings name first, then the newest entries."""
    png = image_png(1, 0)
    images = tuple(ImageRef(f"img-{i:03d}", f"sha-{i}", _const(png)) for i in range(500))
    day = datetime(2020, 1, 1)
    logs = tuple(LogEntry(f"log-{i:04d}", f"entry number {i}", day + timedelta(days=i)) for i in range(2000))
    vision = tuple(Finding("vision", f"dent on {i}", evidence_id=f"img-{i:03d}", region=(1, 1, 9, 9))
                   for i in (7, 411))
    text = (Finding("text", "leak", span=(0, 5), evidence_id="log-0003"),)
    ev = (ModalityEvidence("vision", True, None, vision), ModalityEvidence("text", True, None, text))
    html = render_report(_result(ev), AssetRecord("p", images=images, logs=logs))
    shown_images = re.findall(r"<bdi>(img-\d+)</bdi> · ", html)
    assert len(shown_images) == REPORT_SHOWN["image"], len(shown_images)
    assert shown_images[:2] == ["img-007", "img-411"]  # the ones findings name first, then in the record's order
    assert shown_images[2:5] == ["img-000", "img-001", "img-002"]
    assert f"{500 - REPORT_SHOWN['image']:,} more images not in this report" in html
    shown_logs = re.findall(r"<td>(?:<mark[^>]*>entry</mark>|entry) number (\d+)", html)
    assert len(shown_logs) == REPORT_SHOWN["log"], len(shown_logs)
    assert shown_logs[:3] == ["3", "1999", "1998"]  # the one a finding names, then the newest
    assert f"{2000 - REPORT_SHOWN['log']:,} more log entries not in this report" in html
    assert html.count("data:image/png;base64,") == 1 + REPORT_SHOWN["image"]  # bars and the images shown


def test_many_series_are_capped() -> None:
    series = tuple(SeriesRef(f"s{i}", f"sha{i}", _frame(series_frame(1, i))) for i in range(REPORT_SHOWN["series"] + 3))
    finding = (Finding("sensors", "drift", window=(1.0, 2.0), evidence_id=f"s{REPORT_SHOWN['series'] + 2}"),)
    html = render_report(_result((ModalityEvidence("sensors", True, None, finding),)), AssetRecord("p", series=series))
    assert html.count('alt="sensor series') == REPORT_SHOWN["series"]
    assert f'alt="sensor series s{REPORT_SHOWN["series"] + 2}"' in html  # named by a finding: among those shown
    assert "3 more series not in this report" in html


def test_an_image_with_many_findings_lists_the_first_ones() -> None:
    """Series findings stopped at 8; an image's were all listed."""
    n = REPORT_FINDINGS_SHOWN + 5
    vision = tuple(Finding("vision", f"dent {i}", evidence_id="im", region=(1, 1, 9, 9)) for i in range(n))
    rec = AssetRecord("p", images=(ImageRef("im", "sha", _const(image_png(1, 0))),))
    html = render_report(_result((ModalityEvidence("vision", True, None, vision),)), rec)
    assert html.count("<li><bdi>dent ") == REPORT_FINDINGS_SHOWN
    assert "… 5 more findings" in html


def test_few_items_have_no_more_lines() -> None:
    rec = AssetRecord("p", images=(ImageRef("im", "sha", _const(image_png(1, 0))),), logs=(LogEntry("l", "x"),))
    html = render_report(_result(), rec)
    assert "not in this report" not in html


def test_c1_controls_zero_width_and_bidi_marks_are_shown() -> None:
    """A C1 control (U+0085), a zero-width space or joiner, a word joiner, a BOM and bidi marks (LRM, RLM, an
    isolate, an embedding) were written as they were: invisible, so 'pump\\u200b7' looked like 'pump7'. They show
    as their code points, and so does the right-to-left override (test_report_bidi.py)."""
    hidden = "\x85\x9f\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069"
    aid = f"pump{hidden}7\u202e"
    text = f"seal{hidden} leak here"
    a = text.index("leak")
    ev = (ModalityEvidence("text", True, None, (Finding("text", f"leak{hidden}", span=(a, a + 4),
                                                        evidence_id="l1"),)),)
    rec = AssetRecord(aid, logs=(LogEntry("l1", text),))
    html = render_report(_result(ev, aid, reasons=(f"why{hidden}",)), rec)
    body = html.split("<title>", 1)[1].split("</title>", 1)[1]
    assert not set(hidden) & set(body), sorted(hex(ord(c)) for c in set(hidden) & set(body))
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)  # type: ignore[union-attr]
    assert not set(hidden) & set(title.removeprefix("Grade report: \u2068").removesuffix("\u2069"))
    shown = "".join(f"⟨U+{ord(c):04X}⟩" for c in hidden)
    assert f"<bdi>pump{shown}7\u27e8U+202E\u27e9</bdi>" in html
    assert f'seal{shown} <mark class="hit" title="leak{shown}">leak</mark> here' in html
    assert f"<bdi>why{shown}</bdi>" in html
