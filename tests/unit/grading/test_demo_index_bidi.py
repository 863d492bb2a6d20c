"""The demo's index page (grading/templates/demo_index.html) shows control characters and bidi controls as the
report and the review UI do (grading/visible.py): a right-to-left override in a model version, a workspace, a grade,
a modality or a report's name drew the rest of its line backwards. Links keep the file's name as it is."""

from __future__ import annotations

import re
from pathlib import Path

from assetgrade.grading.demo import _write_index

RLO = "\u202e"
SHOWN = "\u27e8U+202E\u27e9"


def test_the_demo_index_shows_an_override_as_its_code_point(tmp_path: Path) -> None:
    figures = {"n": 4, "accuracy": 0.5, "qwk": 0.25, "ece": 0.1, "expected_cost": 10.0, "coverage": 0.9,
               "mean_set_size": 1.5}
    summary = {"assets": 4, "model_version": f"grader-{RLO}x (pump)", "workspace": f"ws-{RLO}1", "wall_s": 1.0,
               "oof": figures, "fleet_rul": {"histories": 3}, "grade_mix": {f"B{RLO}x": 4},
               "decisions": {"review": 4}, "calibration": f"split {RLO}(pump)",
               "oof_per_modality": {f"text{RLO}x": {**figures, "extractor_accuracy_on_own_label": None}},
               "reports": [f"/x/grade-{RLO}a.html"], "plots": {f"reliability {RLO}(pump)": f"/x/rel-{RLO}.png"}}
    page = _write_index(tmp_path / "index.html", summary, coverage=0.9).read_text(encoding="utf-8")
    links = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert links == [f"grade-{RLO}a.html", f"rel-{RLO}.png"], links  # a link names the file as it is
    shown = re.sub(r'(?:href|src)="[^"]*"', "", page)
    assert RLO not in shown, [line for line in shown.splitlines() if RLO in line]
    for text in (f"grader-{SHOWN}x (pump)", f"ws-{SHOWN}1", f"B{SHOWN}x", f"text{SHOWN}x only",
                 f"split {SHOWN}(pump)", f">grade-{SHOWN}a.html</a>", f'alt="reliability {SHOWN}(pump)"'):
        assert text in page, text
