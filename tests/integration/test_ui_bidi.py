"""Bidi controls in the review UI's pages: shown as their code points wherever a page writes a text (the report's
helper, ``assetgrade.grading.visible``, as every template's ``finalize``), kept exactly in what the browser sends
back (form values, ``data-evidence``).

Only ids and a few texts were in ``<bdi>``: a right-to-left override in a log entry, a highlight's ``title``, a
contradiction, the joint reading, a quality flag, an image caption, a model grade or the name of who asked for a
label drew the rest of that text backwards, and inside a ``<bdi>`` the rest of the isolated text too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from assetgrade.modalities.base import Finding
from assetgrade.result import ContradictionInfo, GradeResult, ModalityEvidence
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

from .test_report_browser import _png

RLO = "\u202e"
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
AID = f"pump-{RLO}7"
IMG = f"img-{RLO}1"
KEPT = {"value", "data-evidence"}
"""Attributes the browser sends back as they are written."""


class _Raw(HTMLParser):
    """Where a page writes a bidi control as it is: (tag, attribute or 'text', the text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.raw: list[tuple[str, str, str]] = []
        self.kept: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "img", "input", "link", "br"):
            self.open.append(tag)
        for name, value in attrs:
            if value and BIDI & set(value):
                (self.kept if name in KEPT else self.raw).append((tag, name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        tag = self.open[-1] if self.open else ""
        if tag == "title":  # the page isolates the id on purpose: FSI ... PDI around it
            data = data.replace("\u2068", "", 1)[::-1].replace("\u2069", "", 1)[::-1]
        if BIDI & set(data):
            (self.kept if tag == "textarea" else self.raw).append((tag, "text", data))


def _scan(html: str) -> _Raw:
    page = _Raw()
    page.feed(html)
    page.close()
    return page


def add_hostile(ws: Workspace) -> None:
    """An asset whose id, log entry, image id, prediction and label request hold right-to-left overrides."""
    text = f"oil leak at {RLO}seal (pump) then a crack"
    a = text.index("leak")
    found = (Finding("text", f"leak {RLO}quoted", defect="leak", span=(a, a + 4), evidence_id=f"{AID}/log"),)
    p = {"A": 0.4, f"B{RLO}x": 0.6}
    result = GradeResult(asset_id=AID, probabilities=p, grade=f"B{RLO}x", conformal_set=tuple(p), coverage=0.9,
                         expected_cost=0.6, decision="review", reasons=(f"the log says {RLO}seal (pump)",),
                         evidence=(ModalityEvidence("text", True, None, found),),
                         contradictions=(ContradictionInfo(("text", "vision"), ("A", "D"), 3,
                                                           f"text says {RLO}A (pump)"),),
                         quality_flags=(f"text: odd {RLO}entry (pump)",),
                         reading={"levels": {f"text {RLO}x": "B"}, "probability": 0.6, "grade_mix": {"A": 1.0}})
    with ws.session() as s:
        add_asset(s, AID, asset_type=f"pump {RLO}(x)")
        add_evidence(s, asset_id=AID, kind="log", sha256="a" * 64, evidence_id=f"{AID}/log", text=text)
        blob = ws.blobs.put_bytes(_png())
        add_evidence(s, asset_id=AID, kind="image", sha256=blob, blob_sha=blob, media_type="image/png",
                     evidence_id=IMG)
        add_prediction(s, AID, model_version=f"m-{RLO}1", grade=result.grade, distribution=p,
                       conformal_set=list(p), decision="review", expected_cost=0.6, payload=result.to_dict())
        add_label_requests(s, [RequestedLabel(AID, 1, f"margin {RLO}x", result.grade, 0.6)], strategy="margin",
                           model_version="m1", requested_by=f"olga {RLO}(ops)")


def test_no_page_writes_a_bidi_control_as_it_is(fresh_env: Any) -> None:
    add_hostile(fresh_env.ws)
    c = fresh_env.login("alice")
    for path in (f"/ui/assets/{AID}", "/ui/queue", "/ui/requests"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        page = _scan(r.text)
        assert page.raw == [], (path, page.raw)
    html = c.get(f"/ui/assets/{AID}").text
    assert "oil leak at \u27e8U+202E\u27e9seal (pump) then a crack" in re.sub(r"<[^>]+>", "", html)
    assert _scan(html).kept == [("figure", "data-evidence", IMG)]  # the box tool sends it back with a box


def test_what_the_browser_sends_back_is_kept_exactly(fresh_env: Any) -> None:
    """A note kept in the review form after a conflict must be the note typed, not its shown form."""
    add_hostile(fresh_env.ws)
    c = fresh_env.login("bob")
    assert c.post(f"/ui/assets/{AID}/review", data={"expected_version": "1", "grade": "B"},
                  follow_redirects=False).status_code == 303
    c = fresh_env.login("alice")
    note = f"seal {RLO}(pump) replaced"
    r = c.post(f"/ui/assets/{AID}/review", data={"expected_version": "1", "grade": "A", "note": note},
               headers={"HX-Request": "true"})
    assert r.status_code == 409, r.status_code
    page = _scan(r.text)
    assert ("textarea", "text", note) in page.kept and page.raw == [], (page.kept, page.raw)
    r = c.post(f"/ui/assets/{AID}/review", data={"expected_version": "2", "grade": "A", "note": note},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    html = c.get(f"/ui/assets/{AID}").text
    assert "<q><bdi>seal \u27e8U+202E\u27e9(pump) replaced</bdi></q>" in html
