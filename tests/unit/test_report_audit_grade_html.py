"""The HTML grade report shows the GradeResult's numbers as they are: escaped, a dash where there is no number."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.grading.report import render_report
from assetgrade.modalities.base import Finding
from assetgrade.result import ContradictionInfo, GradeResult, ModalityEvidence
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry

HOSTILE = "<script>alert(1)</script>&amp"


def _png(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(buf, format="PNG")
    return buf.getvalue()


def _result(**kw: object) -> GradeResult:
    base: dict[str, object] = {
        "asset_id": "pump-7", "probabilities": {"A": 0.1, "B": 0.2, "C": 0.6, "D": 0.1}, "grade": "C",
        "conformal_set": ("B", "C"), "coverage": 0.9, "expected_cost": 1234.4, "decision": "review",
        "reasons": ("the 2-grade prediction set {B, C} is larger than 1",),
        "expected_costs": {"A": 900.0, "B": 450.5, "C": 1234.4, "D": 2000.0},
    }
    base.update(kw)
    return GradeResult(**base)  # type: ignore[arg-type]


def _cells(html: str) -> list[list[str]]:
    """The rows of the 'Expected cost of each grade' table, as cell texts."""
    table = html.split("<b>Expected cost of each grade</b>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in table.split("<tr")[2:]]


def test_the_cost_table_and_headline_are_the_results_numbers() -> None:
    html = render_report(_result())
    assert _cells(html) == [["A", "0.100", "900"], ["B", "0.200", "450"], ["C", "0.600", "1,234"],
                            ["D", "0.100", "2,000"]]
    assert "expected misgrading cost <b>1,234</b>" in html and "confidence 0.60" in html
    assert "<b>{ B, C }</b>" in html and "90% prediction set" in html
    assert "<li><bdi>the 2-grade prediction set {B, C} is larger than 1</bdi></li>" in html


@pytest.mark.parametrize("where", ["expected_cost", "expected_costs", "modality", "finding", "coverage"])
def test_a_missing_number_is_a_dash_not_nan(where: str) -> None:
    nan = float("nan")
    kw: dict[str, object] = {}
    if where == "expected_cost":
        kw["expected_cost"] = nan
    elif where == "expected_costs":
        kw["expected_costs"] = {"A": 900.0, "B": nan, "C": 1234.4}  # B not a number, D not given at all
    elif where == "modality":
        kw["evidence"] = (ModalityEvidence("text", True, {"A": nan, "B": 0.2, "C": 0.6, "D": 0.2}),)
    elif where == "finding":
        kw["evidence"] = (ModalityEvidence("vision", True, None, (
            Finding("vision", "crack", confidence=nan, evidence_id="img-1", region=(3, 2, 7, 5)),)),)
    else:
        kw["coverage"] = nan
    data = _png()
    rec = AssetRecord("pump-7", images=(ImageRef("img-1", "0" * 64, lambda: data),))
    html = render_report(_result(**kw), rec)
    assert not re.search(r"\bnan\b", html, re.IGNORECASE), where
    if where == "expected_cost":
        assert "expected misgrading cost <b>–</b>" in html
    if where == "expected_costs":  # a grade without an expected cost is not one that costs 0
        assert _cells(html)[1] == ["B", "0.200", "–"] and _cells(html)[3] == ["D", "0.100", "–"]
    if where == "modality":
        assert "A – B 0.20 C 0.60 D 0.20" in html
    if where == "finding":
        assert "(conf –, box 3,2,7,5)" in html


def test_hostile_ids_texts_and_names_do_not_inject_markup() -> None:
    tf = Finding("text", f"leak {HOSTILE}", defect=HOSTILE, span=(0, 3), evidence_id=HOSTILE, confidence=0.8)
    vf = Finding("vision", f"crack {HOSTILE}", defect=HOSTILE, evidence_id="img", confidence=0.7)
    r = _result(asset_id=HOSTILE, asset_type=HOSTILE, reasons=(f"reason {HOSTILE}",), quality_flags=(HOSTILE,),
                evidence=(ModalityEvidence("text", True, None, (tf,), (HOSTILE,)),
                          ModalityEvidence(HOSTILE, True, {"A": 1.0}, (vf,))),
                contradictions=(ContradictionInfo(("text", "vision"), ("A", "D"), 3, f"contra {HOSTILE}"),),
                versions={HOSTILE: HOSTILE})
    rec = AssetRecord(HOSTILE, HOSTILE, logs=(LogEntry(HOSTILE, f"oil {HOSTILE} leak", datetime(2024, 1, 1)),))
    html = render_report(r, rec)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp" in html
    assert "&amp" not in html.replace("&amp;", "")  # every & of the data is escaped (no bare "&amp" text)


def test_model_figures_that_are_missing_or_nan_are_dashes() -> None:
    from types import SimpleNamespace

    grader = SimpleNamespace(extractors_={}, metrics_={"n": 40, "accuracy": 0.825, "qwk": float("nan"),
                                                       "ece": 0.0412, "auto_accept_rate": 0.253})
    html = render_report(_result(), None, grader)  # type: ignore[arg-type]
    figures = html.split('id="model-figures">', 1)[1].split("</p>", 1)[0]
    assert "accuracy 0.825" in figures and "ECE 0.041" in figures and "auto-accept 25.3%" in figures
    assert "QWK –" in figures and "coverage –" in figures and "mean set size –" in figures  # NaN, and not computed


def _overlay_pixels(html: str) -> Image.Image:
    import base64

    b64 = re.search(r'alt="image img-1 with heat map" src="data:image/png;base64,([^"]+)"', html)
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64.group(1)))).convert("RGB")


def test_a_findings_box_is_outlined_on_its_own_pixels() -> None:
    # box frame (224c7aa): (3, 2, 7, 5) holds columns 3..6 and rows 2..4; PIL's rectangle includes x1 and y1
    data = _png((40, 30))
    rec = AssetRecord("pump-7", images=(ImageRef("img-1", "0" * 64, lambda: data),))
    ev = (ModalityEvidence("vision", True, None, (Finding("vision", "crack", evidence_id="img-1",
                                                          region=(3, 2, 7, 5)),)),)
    img = _overlay_pixels(render_report(_result(evidence=ev), rec))
    assert img.size == (40, 30)
    white = np.all(np.asarray(img) == 255, axis=2)
    ys, xs = np.nonzero(white)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (3, 6, 2, 4)


def test_the_overlay_shows_the_image_as_exif_turns_it_the_frame_of_the_boxes() -> None:
    # stored 40 wide, 30 high, EXIF orientation 6 (rotate 90 clockwise): shown 30 wide, 40 high, as the
    # vision extractor sees it (decode_image) and places its boxes
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 30), (200, 200, 200)).save(buf, format="JPEG", exif=exif.tobytes())
    data = buf.getvalue()
    rec = AssetRecord("pump-7", images=(ImageRef("img-1", "0" * 64, lambda: data),))
    ev = (ModalityEvidence("vision", True, None, (Finding("vision", "crack", evidence_id="img-1",
                                                          region=(20, 30, 28, 38)),)),)
    img = _overlay_pixels(render_report(_result(evidence=ev), rec))
    assert img.size == (30, 40)


def test_the_demo_index_states_the_coverage_it_was_given(tmp_path: Path) -> None:
    from assetgrade.grading.demo import _write_index

    figures = {"n": 40, "accuracy": 0.8, "qwk": 0.7, "ece": 0.05, "expected_cost": 120.0, "coverage": 0.97,
               "mean_set_size": 1.4}
    summary = {"assets": 40, "model_version": "m1", "workspace": "ws", "wall_s": 1.0, "oof": figures,
               "fleet_rul": {"histories": 3}, "grade_mix": {"A": 40}, "decisions": {"accept": 40},
               "oof_per_modality": {}, "calibration": "temperature", "reports": [], "plots": {}}
    for coverage, shown in ((0.975, "97.5% grade sets"), (0.57, "57% grade sets"), (0.9, "90% grade sets")):
        _write_index(tmp_path / "index.html", summary, coverage=coverage)
        assert shown in (tmp_path / "index.html").read_text()  # '%d' printed 97 and 56
