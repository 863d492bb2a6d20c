"""The demo's index page (grading/templates/demo_index.html) shows control characters and bidi controls as the
report and the review UI do (grading/visible.py): a right-to-left override in a model version, a workspace, a grade,
a modality or a report's name drew the rest of its line backwards. Links keep the file's name as it is."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

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
    links = list(dict.fromkeys(re.findall(r'(?:href|src)="([^"]*)"', page)))  # a plot is shown and linked
    assert [unquote(link) for link in links] == [f"grade-{RLO}a.html", f"rel-{RLO}.png"], links  # the file itself
    shown = re.sub(r'(?:href|src)="[^"]*"', "", page)
    assert RLO not in shown, [line for line in shown.splitlines() if RLO in line]
    for text in (f"grader-{SHOWN}x (pump)", f"ws-{SHOWN}1", f"B{SHOWN}x", f"text{SHOWN}x only",
                 f"split {SHOWN}(pump)", f">grade-{SHOWN}a.html</a>", f'alt="reliability {SHOWN}(pump)"'):
        assert text in page, text


def test_a_link_to_a_report_whose_name_holds_a_hash_or_question_mark_opens_that_file(tmp_path: Path) -> None:
    # an asset id may hold '#' or '?' (grade-<asset id>.html); unencoded, the browser reads them as a fragment or
    # a query and opens grade-a (no such file)
    figures = {"n": 1, "accuracy": 1.0, "qwk": 1.0, "ece": 0.0, "expected_cost": 0.0, "coverage": 1.0,
               "mean_set_size": 1.0}
    summary = {"assets": 1, "model_version": "g", "workspace": "ws", "wall_s": 1.0, "oof": figures,
               "fleet_rul": {"histories": 1}, "grade_mix": {"A": 1}, "decisions": {"accept": 1},
               "calibration": "split", "oof_per_modality": {},
               "reports": ["/x/grade-a#1?v=2 %.html"], "plots": {"p": "/x/p#1.png"}}
    page = _write_index(tmp_path / "index.html", summary, coverage=0.9).read_text(encoding="utf-8")
    links = list(dict.fromkeys(re.findall(r'(?:href|src)="([^"]*)"', page)))  # a plot is shown and linked
    assert links == ["grade-a%231%3Fv%3D2%20%25.html", "p%231.png"], links
    assert ">grade-a#1?v=2 %.html</a>" in page
