"""The HTML report of a grade (``explain --html``) with hostile or broken content, checked without a browser.

Ids, log texts, ontology terms and channel names that hold markup, quotes, ``$`` (matplotlib's mathtext),
right-to-left overrides and NULs; a 1 MB log entry; NaN, infinite and absurd numbers; missing modalities;
an image that no longer decodes after it was graded. The page is parsed with ``html.parser``: only the
report's own tags, no event-handler attributes, every text from the data back exactly as it was given.
tests/integration/test_report_browser.py opens such reports in chromium.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from assetgrade.grader import Grader
from assetgrade.grading.report import REPORT_TEXT_SHOWN, render_report
from assetgrade.modalities.base import Finding
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

from .conftest import image_png, make_record, series_frame

HOSTILE = '"\'><img src=x onerror="window.__pwned=1"></textarea><script>window.__pwned=2</script>'
RLO = "\u202e"
REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "span", "p", "b", "ul", "li", "div",
               "img", "table", "tr", "th", "td", "mark", "code", "bdi"}


class _Page(HTMLParser):
    """The tags, attributes and texts of a page; the text of the first ``<h1>`` and the ``<title>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.open: list[str] = []
        self.texts: dict[str, str] = {"h1": "", "title": ""}
        self.ended: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag not in ("meta", "img"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ended.append(tag)
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for name in self.texts:
            if name in self.open and name not in self.ended:
                self.texts[name] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _check_markup(html: str) -> _Page:
    """The report's own tags only, no event handlers, images only as embedded PNG."""
    page = _parse(html)
    assert {t for t, _ in page.tags} <= REPORT_TAGS, {t for t, _ in page.tags} - REPORT_TAGS
    assert not [(t, a) for t, attrs in page.tags for a, _ in attrs if a.startswith("on")]
    assert all(dict(a)["src"].startswith("data:image/png;base64,") for t, a in page.tags if t == "img")  # type: ignore[union-attr]
    assert page.open == [], page.open  # every element the report opens is closed
    return page


def _result(aid: str, *, probabilities: dict[str, float] | None = None, asset_type: str = "pump",
            evidence: tuple[ModalityEvidence, ...] = (), reasons: tuple[str, ...] = ("r",),
            quality_flags: tuple[str, ...] = ()) -> GradeResult:
    p = probabilities or {"A": 0.1, "B": 0.2, "C": 0.6, "D": 0.1}
    grades = list(p)
    return GradeResult(asset_id=aid, probabilities=p, grade=grades[0], conformal_set=tuple(grades[:2]), coverage=0.9,
                       expected_cost=12.0, decision="review", reasons=reasons, evidence=evidence,
                       expected_costs={g: 1.0 for g in grades}, asset_type=asset_type,
                       quality_flags=quality_flags)


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _frame(frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    return lambda: frame.copy()


def hostile_record(tag: str = "") -> tuple[GradeResult, AssetRecord]:
    """A graded-looking asset whose every id and text is hostile, with one image, one log entry and one series."""
    aid = f"pump-{HOSTILE}{tag}"
    ids = {k: f"{k}-{HOSTILE}{tag}" for k in ("img", "log", "ser")}
    text = f"oil leak at the seal {HOSTILE} {tag} then a crack"
    a = text.index("leak")
    frame = series_frame(2, 0).rename(columns={"temp": f"temp {HOSTILE}{tag}"})
    findings = {
        "vision": (Finding("vision", f"dent {HOSTILE}{tag}", defect=f"dent {HOSTILE}", evidence_id=ids["img"],
                           region=(4, 4, 30, 30)),),
        "text": (Finding("text", f"leak {HOSTILE}{tag}", defect=f"leak {HOSTILE}", span=(a, a + 4),
                         evidence_id=ids["log"]),),
        "sensors": (Finding("sensors", f"drift {HOSTILE}{tag}", window=(10.0, 20.0),
                            channels=(f"temp {HOSTILE}{tag}",), evidence_id=ids["ser"]),),
    }
    evidence = tuple(ModalityEvidence(m, True, {"A": 0.5, "B": 0.5}, f, (f"{m}: flag {HOSTILE}{tag}",))
                     for m, f in findings.items())
    rec = AssetRecord(aid, f"type {HOSTILE}{tag}", images=(ImageRef(ids["img"], "sha-img", _const(image_png(2, 0))),),
                      logs=(LogEntry(ids["log"], text, datetime(2024, 1, 2)),),
                      series=(SeriesRef(ids["ser"], "sha-ser", _frame(frame)),))
    return _result(aid, asset_type=f"type {HOSTILE}{tag}", evidence=evidence,
                   reasons=(f"reason {HOSTILE}{tag}",), quality_flags=(f"text: flag {HOSTILE}{tag}",)), rec


# -- markup in ids and texts -----------------------------------------------------------------------------------------
def test_markup_in_every_id_and_text_is_shown_as_text_never_as_markup() -> None:
    """Regression: the template escapes everything (it did before this audit too)."""
    result, rec = hostile_record()
    html = render_report(result, rec)
    page = _check_markup(html)
    assert page.texts["h1"] == f"Asset {result.asset_id} (type {HOSTILE})"
    assert page.texts["title"].strip("\u2068\u2069").endswith(result.asset_id)
    assert html.count("data:image/png;base64,") >= 3  # bars, the image, the sensor plot: all drawn
    for shown in (f"dent {HOSTILE}", f"reason {HOSTILE}", f"text: flag {HOSTILE}", f"drift {HOSTILE}"):
        assert shown.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;") in html


def test_ontology_terms_with_markup_as_grade_names_are_escaped() -> None:
    """Regression: a custom ontology may name its grades freely; the table and the set show them as text."""
    grades = {f"A{HOSTILE}": 0.7, "B</td>": 0.3}
    html = render_report(_result("p", probabilities=grades))
    _check_markup(html)
    assert "<td>A&#34;&#39;&gt;&lt;img src=x onerror=" in html and "<td>B&lt;/td&gt;</td>" in html


@pytest.mark.parametrize("where", ["grade", "channel", "series id", "asset id"])
def test_dollar_signs_do_not_break_the_plots(where: str) -> None:
    """matplotlib read '$...$' as mathtext: a grade, channel or series named '$\\bad$' made the report raise
    ValueError (ParseFatalException: Unknown symbol) instead of being written."""
    bad = "$\\bad$"
    grades = {bad: 0.6, "B": 0.4} if where == "grade" else {"A": 0.6, "B": 0.4}
    frame = series_frame(2, 0).rename(columns={"temp": bad} if where == "channel" else {})
    sid = bad if where == "series id" else "s1"
    aid = bad if where == "asset id" else "p"
    rec = AssetRecord(aid, series=(SeriesRef(sid, "sha", _frame(frame)),))
    html = render_report(_result(aid, probabilities=grades), rec)
    _check_markup(html)
    assert html.count("data:image/png;base64,") == 2 and "nothing to plot" not in html


# -- right-to-left overrides and control characters --------------------------------------------------------------------
def test_a_right_to_left_override_in_an_id_stays_inside_it() -> None:
    """An override in an id reversed what followed it on its line: the asset type after the id in the heading
    ('(pump)' drawn as ')pmup('), ' · anomaly map' after an image id, the rest of a reason. Ids and the texts that
    quote them are isolated (<bdi>; FSI ... PDI in the title, where <bdi> does not work), as on the review UI, and
    the override itself is shown as its code point (inside a <bdi> it still reversed the rest of that text)."""
    aid, img = f"pump-{RLO}evil", f"photo-{RLO}gpj.exe"
    rec = AssetRecord(aid, "pump", images=(ImageRef(img, "sha", _const(image_png(1, 0))),),
                      series=(SeriesRef(f"s-{RLO}1", "sha2", _frame(series_frame(1, 0).iloc[:0])),))
    html = render_report(_result(aid, reasons=(f"odd asset {aid} seen",)), rec)
    page = _check_markup(html)
    assert RLO not in html
    shown, shown_img = (t.replace(RLO, "\u27e8U+202E\u27e9") for t in (aid, img))
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)  # type: ignore[union-attr]
    assert unescape(title) == f"Grade report: \u2068{shown}\u2069"  # FSI and PDI as references: raw ones show
    assert f"<h1>Asset <bdi>{shown}</bdi> <span class=\"muted\">(<bdi>pump</bdi>)</span></h1>" in html
    assert f"<bdi>{shown_img}</bdi> · no vision model" in html
    assert f"<li><bdi>odd asset {shown} seen</bdi></li>" in html
    assert "<bdi>s-\u27e8U+202E\u27e91</bdi>: <bdi>nothing to plot" in html
    assert page.texts["h1"] == f"Asset {shown} (pump)"


def test_control_characters_are_shown_not_dropped() -> None:
    """A NUL in an id or a log entry went into the page as it was: browsers drop it from text (and show U+FFFD in
    an attribute), so 'pump-7\\x00x' read 'pump-7x'. Control characters show as their Unicode pictures (U+2400 ...),
    one for one, so highlights stay where they were."""
    aid = "pump-7\x00x\x1b"
    text = "seal\x00 leak\x07 here"
    a = text.index("leak")
    ev = (ModalityEvidence("text", True, None, (Finding("text", "leak", span=(a, a + 4), evidence_id="l1"),)),)
    rec = AssetRecord(aid, logs=(LogEntry("l1", text),))
    html = render_report(_result(aid, evidence=ev), rec)
    assert "\x00" not in html and "\x1b" not in html and "\x07" not in html
    assert "pump-7\u2400x\u241b" in html
    assert 'seal\u2400 <mark class="hit" title="leak">leak</mark>\u2407 here' in html
    assert "\n<h2>Images</h2>\n" in html  # the page's own line breaks are kept


# -- size -----------------------------------------------------------------------------------------------------------
def test_a_huge_log_entry_is_cut_with_a_note() -> None:
    """A 1 MB maintenance note went into the report whole (1.2 MB of HTML, and 'leak; leak; ...' 50,000 times
    in its findings cell). The first REPORT_TEXT_SHOWN characters are shown, cut after a space, with what is left
    off; the findings of an entry are counted, not repeated."""
    text = "oil leak at the pump seal. " * 40_000  # 1.08 MB, 40,000 leaks
    spans = [m.start() for m in re.finditer("leak", text)]
    findings = tuple(Finding("text", "leak", defect="leak", span=(s, s + 4), evidence_id="big") for s in spans)
    findings += (Finding("text", "no crack", defect="crack", span=(spans[-1], spans[-1] + 4), status="negated",
                         evidence_id="big"),)
    ev = (ModalityEvidence("text", True, None, findings),)
    rec = AssetRecord("p", logs=(LogEntry("big", text), LogEntry("small", "short entry")))
    html = render_report(_result("p", evidence=ev), rec)
    _check_markup(html)
    assert len(html.encode()) < 60_000, len(html.encode())
    cut = text.rfind(" ", 0, REPORT_TEXT_SHOWN) + 1
    shown_marks = sum(1 for s in spans if s < cut)
    assert html.count('<mark class="hit"') == shown_marks
    hidden = sum(1 for s in spans if s >= cut)  # the negated one shares the last leak's span: drawn once
    assert f"… {len(text) - cut:,} more characters, {hidden:,} more highlighted spans, not in this report" in html
    assert "<bdi>leak</bdi> ×40,000; <bdi>no crack</bdi> [negated]</td>" in html and "leak</bdi>; <bdi>leak" not in html
    assert "short entry" in html


def test_an_entry_at_the_limit_is_shown_whole() -> None:
    text = "x" * REPORT_TEXT_SHOWN
    html = render_report(_result("p"), AssetRecord("p", logs=(LogEntry("l", text),)))
    assert text in html and "more characters" not in html


# -- numbers --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e300, -1e300])
def test_odd_probabilities_reach_the_plot_and_the_tables_as_dashes(value: float) -> None:
    """NaN and infinities showed as "–" (regression); 1e300 made the bar plot's label a 1e298-pixel-high figure
    and rendering raised TypeError."""
    ev = (ModalityEvidence("text", True, {"A": value, "B": 0.5}),)
    html = render_report(_result("p", probabilities={"A": value, "B": 0.5}, evidence=ev))
    _check_markup(html)
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "", html).lower()
    assert not re.search(r"\bnan\b|\binf", text), re.search(r".{40}(\bnan\b|\binf).{40}", text)
    shown = "–" if not np.isfinite(value) else f"{value:.3f}"
    assert f"<td>A</td><td>{shown}</td>" in html
    assert html.count("data:image/png;base64,") == 1


def test_non_finite_and_non_numeric_series_still_plot_or_say_why() -> None:
    """One inf sample hid its channel (std() is NaN, so the channel looked flat); a text column or a text index
    made the report raise (TypeError, ValueError) instead of being written."""
    base = series_frame(2, 0)
    spiky = base.assign(temp=np.where(np.arange(60) == 5, np.inf, base["temp"]),
                        vib=np.where(np.arange(60) == 7, np.nan, base["vib"]))
    texty = base.assign(note=["ok"] * 60)
    indexed = base.set_axis([f"t{i}" for i in range(60)])
    odd_time = base.set_axis(np.r_[np.arange(58.0), np.nan, np.inf])
    rec = AssetRecord("p", series=tuple(SeriesRef(f"s{i}", f"sha{i}", _frame(f))
                                        for i, f in enumerate((spiky, texty, indexed, odd_time))))
    html = render_report(_result("p"), rec)
    _check_markup(html)
    assert html.count('alt="sensor series') == 4, re.findall(r'class="absent">[^<]*', html)


def test_a_series_that_cannot_be_drawn_is_named_with_why() -> None:
    rec = AssetRecord("p", series=(SeriesRef("only-text", "sha", _frame(pd.DataFrame({"note": ["a", "b"]}))),))
    html = render_report(_result("p"), rec)
    assert "only-text</bdi>: <bdi>nothing to plot (no numeric channel that varies)</bdi>" in html


# -- missing modalities and broken evidence ------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"image_level": 2}, {"text_grade": "C"}, {"series_level": 2}],
                         ids=["none-at-all", "images-only", "logs-only", "series-only"])
def test_missing_modalities_are_said_with_a_real_grader(grader: Grader, kw: dict[str, object]) -> None:
    """Regression: an asset without images, logs or series (or with none at all) is graded and reported, each
    missing kind said, not left out."""
    rec = make_record("m-1", **{"image_level": None, "text_grade": None, "series_level": None, **kw})  # type: ignore[arg-type]
    html = render_report(grader.grade(rec), rec, grader)
    _check_markup(html)
    said = {k: s in html for k, s in (("images", "no images"), ("logs", "no log entries"),
                                      ("series", "no sensor series"))}
    assert said == {"images": "image_level" not in kw, "logs": "text_grade" not in kw,
                    "series": "series_level" not in kw}


def test_an_image_that_no_longer_decodes_keeps_its_findings(grader: Grader) -> None:
    """The image was graded, then its blob was replaced: the report said 'could not render' but dropped what the
    grade found on that image."""
    rec = make_record("broken-1", image_level=3, text_grade=None, series_level=None, seed=5)
    result = grader.grade(rec)
    found = [f for e in result.evidence for f in e.findings if f.evidence_id == rec.images[0].evidence_id]
    assert found, "the tiny grader finds something on a grade-D image"
    ref = rec.images[0]
    replaced = dataclasses.replace(rec, images=(ImageRef(ref.evidence_id, ref.sha256, _const(b"not a picture")),))
    html = render_report(result, replaced, grader)
    _check_markup(html)
    assert f"<bdi>{ref.evidence_id}</bdi> · could not render: <bdi>image {ref.evidence_id}: not an image" in html
    escaped = found[0].summary.replace("'", "&#39;").replace('"', "&#34;")
    assert escaped in html
