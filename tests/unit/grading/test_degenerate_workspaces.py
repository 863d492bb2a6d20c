"""Small and lopsided workspaces, built and run as a new user would: ``init``, ``ingest manifest``,
``train``, ``grade --all``, ``explain``, ``evaluate``, ``audit``. Each run works with an honest caveat
where the statistics are thin, or stops with one line naming what is missing and what to do.

The workspaces are tiny (a few assets of logs and short series, the text extractor without its
sentence embedder), so each test trains in seconds.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError

from .conftest import GRADES, TEXTS, make_record, series_frame, tiny_grader

APP = build_app()


def _run(*args: str) -> tuple[int, str]:
    """Exit code and output (one line's words joined) as ``assetgrade`` gives them; a traceback fails the test."""
    res = CliRunner().invoke(APP, [str(a) for a in args])
    exc = res.exception
    if isinstance(exc, AssetgradeError):
        return exit_code_for(exc), f"error: {exc}"
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return res.exit_code, " ".join(res.output.split())


def build_workspace(tmp_path: Path, rows: list[dict[str, str]], *, extractors: str = "[text, sensors]",
                    folds: int = 2) -> Path:
    """A workspace made with ``init`` and ``ingest manifest`` from ``rows`` (asset_id, kind, grade, level, seed):
    a log of the level's grade words, or a 60-cycle series CSV; ``text`` without its sentence embedder."""
    ws = tmp_path / "ws"
    src = tmp_path / "import"
    src.mkdir()
    out = []
    for r in rows:
        level, seed = int(r["level"]), int(r.get("seed", 0))
        row = {"asset_id": r["asset_id"], "asset_type": r.get("asset_type", "pump"), "kind": r["kind"], "path": "",
               "text": "", "date": "2024-01-02", "grade": r.get("grade", ""), "origin": r.get("origin", "real")}
        if r["kind"] == "log":
            row["text"] = TEXTS[GRADES[level]][seed % 2]
        else:
            name = f"{r['asset_id']}-{r['kind']}.csv"
            series_frame(level, seed).to_csv(src / name)
            row["path"] = name
        out.append(row)
    with (src / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(out[0]))
        w.writeheader()
        w.writerows(out)
    assert _run("init", ws)[0] == 0
    code, msg = _run("ingest", "manifest", src / "manifest.csv", "-w", ws)
    assert code == 0, msg
    for key, value in (("grader.extractors", extractors), ("grader.folds", str(folds)),
                       ("grader.extractor_settings", "{text: {embedder: none}}")):
        code, msg = _run("config", "set", key, value, "-w", ws)
        assert code == 0, msg
    return ws


def _assets(n: int, kinds: tuple[str, ...], *, labelled: int | None = None) -> list[dict[str, str]]:
    """``n`` assets, grades cycling A-D, each with evidence of ``kinds``; the first ``labelled`` carry the grade."""
    rows = []
    for i in range(n):
        g = i % 4
        grade = GRADES[g] if labelled is None or i < labelled else ""
        rows += [{"asset_id": f"p{i:02d}", "kind": k, "grade": grade, "level": str(g), "seed": str(i)} for k in kinds]
    return rows


# ---- too few labels to train on ----------------------------------------------------------------------------------


def test_cli_train_without_enough_labels_says_what_is_missing_and_what_to_do(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path, _assets(4, ("log",), labelled=0), extractors="[text]", folds=5)
    for cmd in ("train", "evaluate"):
        code, out = _run(cmd, "-w", ws)
        assert code == 2 and out.startswith("error: Grader.fit: none of the 4 assets has a grade label: label assets "
                                            "of at least two grades; 5 folds need >= 5 groups: label more assets, or "
                                            "train with fewer folds (--folds, or grader.folds in assetgrade.yaml"), out
    code, out = _run("grade", "--all", "-w", ws)
    assert code == 3 and "no saved grader" in out and "run: assetgrade train" in out
    assert _run("train", "--folds", "3", "-w", ws)[1].startswith("error: Grader.fit: none of the 4 assets")


def test_cli_train_on_labels_of_one_grade_asks_for_a_second_grade(tmp_path: Path) -> None:
    rows = [{**r, "grade": "C"} for r in _assets(6, ("log",))]
    ws = build_workspace(tmp_path, rows, extractors="[text]")
    code, out = _run("train", "-w", ws)
    assert code == 2 and out == ("error: Grader.fit: 6 labelled assets in 6 groups (assets sharing an image or series "
                                 "file count as one) with 1 grade(s): label assets of at least two grades (all are C)")


# ---- a modality no labelled asset has ---------------------------------------------------------------------------


def test_an_extractor_with_no_evidence_in_any_labelled_asset_is_left_out_not_reported() -> None:
    """No asset has a log: the text extractor used to be kept, its 'text only' figures those of the grade mix,
    and ``config check --data`` said train leaves it out while train did not."""
    recs = [make_record(f"t{i:02d}", image_level=None, text_grade=None, series_level=i % 4, grade=GRADES[i % 4],
                        seed=i) for i in range(16)]
    g = tiny_grader(extractors=["text", "sensors"]).fit(recs)
    assert g.modalities_ == ["sensors"] and list(g.extractors_) == ["sensors"]
    assert list(g.metrics_["per_modality"]) == ["sensors"]
    assert any(n.startswith("text left out: none of the 16 labelled assets has text evidence") for n in g.notes_)
    assert [e.modality for e in g.grade(recs[0]).evidence] == ["sensors"]


def test_cli_train_and_evaluate_leave_out_a_modality_absent_from_every_asset(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path, _assets(12, ("series",)))
    code, out = _run("config", "check", "--data", "-w", ws)
    assert code == 0 and "text: none of the 12 labelled assets has text evidence, so train leaves it out" in out
    for cmd in ("train", "evaluate"):
        code, out = _run(cmd, "-w", ws)
        assert code == 0, out
        assert "note: text left out: none of the 12 labelled assets has text evidence" in out
        assert "text only" not in out and "sensors only" in out
    code, out = _run("explain", "p00", "-w", ws)
    assert code == 0 and "text: absent" not in out and "sensors:" in out


# ---- too few calibration assets for the conformal set ------------------------------------------------------------


def test_a_set_from_too_few_calibration_assets_says_it_holds_every_grade_and_why() -> None:
    recs = [make_record(f"t{i:02d}", image_level=None, text_grade=GRADES[i % 4], series_level=None,
                        grade=GRADES[i % 4], seed=i) for i in range(8)]
    g = tiny_grader(extractors=["text"], folds=3).fit(recs)
    assert g.metrics_["coverage"] == 1.0 and g.metrics_["mean_set_size"] == 4.0
    assert ("conformal: 8 calibration assets, fewer than the 9 a 90% set needs: every prediction set holds all "
            "grades (coverage 100% says nothing); label more assets") in g.notes_
    r = g.grade(recs[0])
    assert r.conformal_set == GRADES
    assert ("the 90% prediction set holds every grade: 8 calibration assets are too few for a 90% set (it needs "
            "at least 9), so it says nothing about this asset; label more assets") in r.reasons


def test_nine_calibration_assets_give_a_90_percent_set_its_finite_quantile() -> None:
    """coverage 0.9 became alpha 0.09999999999999998, whose rank ceil(10 * 0.9000000000000002) = 10 exceeds 9:
    the sets held every grade although 9 points suffice for a 90% split-conformal set."""
    recs = [make_record(f"t{i:02d}", image_level=None, text_grade=GRADES[i % 4], series_level=None,
                        grade=GRADES[i % 4], seed=i) for i in range(9)]
    g = tiny_grader(extractors=["text"], folds=3).fit(recs)
    assert np.isfinite(g.conformal_.quantile_) and g.conformal_.alpha == 0.1
    assert not any(n.startswith("conformal:") for n in g.notes_)
    assert not any("holds every grade" in reason for r in g.grade_many(recs) for reason in r.reasons)


def test_cli_five_labelled_assets_train_and_explain_with_the_caveat(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path, _assets(8, ("log", "series"), labelled=5), folds=5)
    code, out = _run("train", "-w", ws)
    assert code == 0, out
    assert "out-of-fold on 5" in out
    assert "conformal: 5 calibration assets, fewer than the 9 a 90% set needs" in out
    code, out = _run("explain", "p07", "-w", ws)  # an unlabelled asset
    assert code == 0 and "90% prediction set: {A, B, C, D}" in out
    assert "5 calibration assets are too few for a 90% set (it needs at least 9)" in out


# ---- every asset synthetic ----------------------------------------------------------------------------------------


def test_the_imbalance_check_of_all_synthetic_items_says_there_is_no_real_item_not_a_ratio() -> None:
    import pandas as pd

    from assetgrade.audit.data import AuditData
    from assetgrade.audit.imbalance import ClassImbalance

    data = AuditData(pd.DataFrame({"item_id": list("abcd"), "asset_id": list("abcd"), "label": list("AABC"),
                                   "origin": ["synthetic"] * 4}))
    res = ClassImbalance().run(data)
    assert not res.passed and res.message == ("no real item among the 4: all are synthetic/augmented, so no class "
                                              "has a real example (real_only counts real items only)")
    counted_all = ClassImbalance(real_only=False).run(data)  # counting them all, the ratio means something
    assert counted_all.message.startswith("smallest/largest class = 0.500")


def test_cli_audit_of_an_all_synthetic_workspace_names_the_missing_real_items(tmp_path: Path) -> None:
    rows = [{**r, "origin": "synthetic"} for r in _assets(6, ("log",))]
    ws = build_workspace(tmp_path, rows, extractors="[text]")
    code, out = _run("audit", "--checks", "imbalance,synthetic_share", "-w", ws)
    assert code == 1, out  # a policy violation
    assert "no real item among the 6: all are synthetic/augmented" in out and "smallest/largest" not in out
    assert "synthetic_share │ FAIL" in out


# ---- a golden set of one grade ------------------------------------------------------------------------------------


def test_cli_a_golden_set_of_one_grade_shows_no_qwk(tmp_path: Path) -> None:
    """Against one true grade, kappa is 0 whatever was predicted: the golden table printed QWK 0 beside
    accuracy 0.5; it now shows none, and the JSON holds null."""
    import json

    ws = build_workspace(tmp_path, _assets(10, ("log",)), extractors="[text]")
    assert _run("golden", "freeze", "p02", "p06", "-w", ws)[0] == 0  # both grade C
    code, out = _run("retrain", "-w", ws)
    assert code == 0, out
    version = out.split("registered ")[1].split()[0]
    res = CliRunner().invoke(APP, ["models", "evaluate", version, "--json", "-w", str(ws)])
    assert res.exit_code == 0, res.output
    overall = json.loads(res.output)["overall"]
    assert overall["n"] == 2 and overall["qwk"] is None and overall["accuracy"] is not None
    code, out = _run("models", "evaluate", version, "-w", ws)
    assert code == 0 and "│ overall │ 2 │" in out and "│ - │" in out and " nan " not in out, out


# ---- a grade never labelled, an asset type never labelled ---------------------------------------------------------


def test_cli_train_notes_a_grade_of_the_scale_no_labelled_asset_has(tmp_path: Path) -> None:
    rows = [r for r in _assets(12, ("log",)) if r["grade"] != "D"]  # grades A, B, C only
    ws = build_workspace(tmp_path, rows, extractors="[text]")
    code, out = _run("train", "-w", ws)
    assert code == 0, out
    assert ("note: labels: none of the 9 labelled assets has grade(s) D: the grader learns nothing about them and "
            "will rarely choose them") in out


def test_an_asset_of_a_type_no_labelled_asset_had_says_so() -> None:
    recs = [make_record(f"t{i:02d}", image_level=None, text_grade=GRADES[i % 4], series_level=None,
                        grade=GRADES[i % 4], seed=i, asset_type="pump") for i in range(12)]
    g = tiny_grader(extractors=["text"], folds=3).fit(recs)
    valve = make_record("v1", image_level=None, text_grade="C", series_level=None, asset_type="valve")
    reasons = g.grade(valve).reasons
    assert ("no labelled asset of type 'valve' in training: the grade comes from assets of other types, and the "
            "conformal set uses their pooled threshold") in reasons
    assert not any("no labelled asset of type" in r for r in g.grade(recs[0]).reasons)


# ---- no images, or images of one grade only -----------------------------------------------------------------------


def test_the_vision_extractor_left_out_says_whether_images_were_missing_or_of_one_grade() -> None:
    """'need graded images from at least two grades' read the same for a workspace with no image at all."""
    import pytest

    from assetgrade.errors import ValidationError
    from assetgrade.modalities.vision.extractor import VisionExtractor

    from .conftest import FAST_SETTINGS

    none = [make_record(f"n{i}", image_level=None, text_grade="A", series_level=None, grade=GRADES[i % 2], seed=i)
            for i in range(4)]
    with pytest.raises(ValidationError, match=r"at least two grades to fit; no graded asset has an image$"):
        VisionExtractor(**FAST_SETTINGS["vision"]).fit(none)
    one = [make_record(f"o{i}", image_level=2, text_grade=None, series_level=None, grade="C" if i < 2 else None,
                       seed=i) for i in range(4)]
    with pytest.raises(ValidationError, match=r"two grades to fit; 2 readable graded image\(s\), all of grade C$"):
        VisionExtractor(**FAST_SETTINGS["vision"]).fit(one)


def test_cli_train_on_synthetic_evidence_only_says_its_figures_are_not_about_real_assets(tmp_path: Path) -> None:
    rows = [{**r, "origin": "synthetic"} for r in _assets(8, ("log",))]
    ws = build_workspace(tmp_path, rows, extractors="[text]")
    code, out = _run("train", "-w", ws)
    assert code == 0, out
    assert ("note: origin: none of the 8 labelled assets holds real evidence (all synthetic or augmented): the "
            "figures describe that data, not real assets (assetgrade audit --checks synthetic_share)") in out
    (tmp_path / "real").mkdir()
    real = build_workspace(tmp_path / "real", _assets(8, ("log",)), extractors="[text]")
    assert "note: origin:" not in _run("train", "-w", real)[1]


def test_cli_train_with_no_extractor_left_names_the_extractors_only(tmp_path: Path) -> None:
    rows = [r for r in _assets(8, ("series",)) if r["grade"] != "D"]
    ws = build_workspace(tmp_path, rows, extractors="[text]")
    code, out = _run("train", "-w", ws)
    assert code == 2 and out == ("error: Grader.fit: no extractor could be fitted: text left out: none of the 6 "
                                 "labelled assets has text evidence out of fold (none holds any, or only assets whose "
                                 "fold could not fit it) (assetgrade config check --data counts the labelled assets "
                                 "holding each evidence)"), out


def test_the_thin_set_note_names_a_coverage_as_set_not_rounded() -> None:
    recs = [make_record(f"t{i:02d}", image_level=None, text_grade=GRADES[i % 4], series_level=None,
                        grade=GRADES[i % 4], seed=i) for i in range(12)]
    g = tiny_grader(extractors=["text"], folds=3, coverage=0.975).fit(recs)  # a 97.5% set needs 39
    assert any(n.startswith("conformal: 12 calibration assets, fewer than the 39 a 97.5% set needs") for n in g.notes_)
    assert any("too few for a 97.5% set (it needs at least 39)" in r for r in g.grade(recs[0]).reasons)
