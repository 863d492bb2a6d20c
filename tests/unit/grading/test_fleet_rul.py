"""A fleet's RUL model: histories read from a folder (with end_rul), trained, saved, loaded by the Grader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.grader import Grader
from assetgrade.grading.bundle import save_bundle
from assetgrade.grading.fleet_rul import RUL_PICKLE, load_fleet_rul, read_fleet_histories
from assetgrade.modalities.sensors.health import RulModel


def _write_fleet(folder: Path, n: int, seed: int = 0) -> list[int]:
    """``n`` unit histories (cycle, temp, vib) whose wear grows to failure; returns their lives."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lives = []
    for k in range(n):
        life = int(rng.integers(50, 90))
        wear = np.exp((np.arange(life) - life) / 15.0)
        pd.DataFrame({
            "cycle": np.arange(1, life + 1),
            "temp": 500 + 20 * wear + rng.normal(0, 0.5, life),
            "vib": 1 + 3 * wear + rng.normal(0, 0.1, life),
        }).to_csv(folder / f"unit{k:02d}.csv", index=False)
        lives.append(life)
    return lives


def test_histories_and_end_rul_rows_are_checked_one_by_one(tmp_path: Path) -> None:
    _write_fleet(tmp_path / "fleet", 5)
    (tmp_path / "fleet" / "broken.csv").write_text("cycle,temp,vib\n1,500,abc\n2,501,1.0\n", encoding="utf-8")
    (tmp_path / "fleet" / "notes.txt.bak").write_text("not a series", encoding="utf-8")
    ends = tmp_path / "end_rul.csv"
    ends.write_text("file,end_rul\nunit00.csv,12\nmissing.csv,3\nunit01.csv,-4\nunit02.csv,x\nunit03.csv,0\n"
                    "unit03.csv,5\n", encoding="utf-8")
    fleet = read_fleet_histories(tmp_path / "fleet", end_rul_csv=ends)
    assert fleet.names == ["unit00.csv", "unit04.csv"]  # unit03 listed twice with different values: left out
    assert fleet.end_rul == [12.0, 0.0]
    text = "\n".join(fleet.errors)
    for needle in ("row 3: no series file 'missing.csv'", "row 4: end_rul '-4'", "row 5: end_rul 'x'",
                   "row 7: 'unit03.csv' is listed twice", "broken.csv"):
        assert needle in text
    assert "unit01.csv: left out" in text and "unit02.csv: left out" in text and "unit03.csv: left out" in text
    assert all(list(f.columns) == ["temp", "vib"] for f in fleet.frames)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match=r"empty; looked for \.csv, \.tsv or \.parquet"):  # bad input, not 3
        read_fleet_histories(tmp_path / "empty")
    with pytest.raises(NotFoundError, match="no folder"):
        read_fleet_histories(tmp_path / "nowhere")


def test_cli_fit_rul_saves_a_bundle_the_grader_loads(tmp_path: Path) -> None:
    lives = _write_fleet(tmp_path / "fleet", 8)
    (tmp_path / "end_rul.csv").write_text("file,end_rul\nunit00.csv,10\n", encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "fleet"), "--out",
                                           str(tmp_path / "ws" / "rul"), "--end-rul", str(tmp_path / "end_rul.csv"),
                                           "--cap", "40", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["histories"] == 8 and summary["stopped_before_failure"] == 1
    assert summary["channels"] == ["temp", "vib"]
    model = load_fleet_rul(tmp_path / "ws" / "rul")
    assert isinstance(model, RulModel) and model.fingerprint_ == summary["fingerprint"]
    info = json.loads((tmp_path / "ws" / "rul" / "bundle.json").read_text(encoding="utf-8"))
    assert info["kind"] == "rul-model" and info["end_rul"][0] == 10.0 and len(info["files"]) == 8
    # the model learned the fleet: a unit 10 cycles before failure reads far worse than a fresh one
    frame = pd.read_csv(tmp_path / "fleet" / "unit05.csv").set_index("cycle")
    p = model.predict([frame.iloc[:20], frame.iloc[: lives[5] - 10]])
    assert p.rul[0] > p.rul[1] + 10
    # a workspace's grader settings name the folder relative to the workspace
    settings = Grader(extractor_settings={"sensors": {"rul_model": "rul"}}).resolve_settings(tmp_path / "ws")
    assert settings["sensors"]["rul_model"].fingerprint_ == model.fingerprint_


def test_too_few_histories_and_wrong_bundles_are_clear_errors(tmp_path: Path) -> None:
    _write_fleet(tmp_path / "fleet", 3)
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "fleet"), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, ValidationError) and exit_code_for(res.exception) == 2
    assert "3 usable histories" in str(res.exception) and not (tmp_path / "o").exists()
    with pytest.raises(NotFoundError, match="assetgrade sensors fit-rul"):
        load_fleet_rul(tmp_path / "o")
    save_bundle({"not": "a model"}, {"kind": "grader"}, tmp_path / "g", pickle_name=RUL_PICKLE)
    with pytest.raises(ValidationError, match="not a RUL model"):
        load_fleet_rul(tmp_path / "g")
    (tmp_path / "g" / RUL_PICKLE).write_bytes(b"tampered")
    with pytest.raises(ValidationError, match="does not match the sha256"):
        load_fleet_rul(tmp_path / "g")


def test_grader_fits_with_a_saved_rul_model_and_versions_it(tmp_path: Path) -> None:
    from assetgrade.store.records import AssetRecord, SeriesRef

    _write_fleet(tmp_path / "fleet", 12)
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "fleet"),
                                           "--out", str(tmp_path / "rul"), "--cap", "40"])
    assert res.exit_code == 0, res.output
    rng = np.random.default_rng(5)
    lives = _write_fleet(tmp_path / "live", 30, seed=1)
    records = []
    for k, life in enumerate(lives):
        frame = pd.read_csv(tmp_path / "live" / f"unit{k:02d}.csv").set_index("cycle")
        cut = int(rng.integers(15, life))
        records.append(AssetRecord(f"a{k}", grade="A" if life - cut > 15 else "D",
                                   series=(SeriesRef(f"s{k}", str(k), load=lambda f=frame, c=cut: f.iloc[:c]),)))

    def fit(path: Path) -> Grader:
        return Grader(extractors=("sensors",), folds=3, extractor_settings={"sensors": {"rul_model": str(path)}},
                      review_on_contradiction=False).fit(records)

    g = fit(tmp_path / "rul")
    ex = g.extractors_["sensors"]
    assert ex.classifier_reads_rul_ and ex.rul_model_.fingerprint_ == load_fleet_rul(tmp_path / "rul").fingerprint_
    assert "fingerprint=" in g.extractor_info_["sensors"]["settings"]["rul_model"]
    assert g.metrics_["per_modality"]["sensors"]["extractor_accuracy_on_own_label"] >= 0.8
    assert fit(tmp_path / "rul").version_ == g.version_  # the same model and data: the same version
    g.save(tmp_path / "grader")
    again = Grader.load(tmp_path / "grader")
    assert [r.grade for r in again.grade_many(records[:5])] == [r.grade for r in g.grade_many(records[:5])]


def test_the_demo_fleet_model_predicts_the_same_on_one_and_two_threads(tmp_path: Path) -> None:
    """The demo trains its fleet RUL model on two LightGBM threads because the predictions do not change.

    Every booster of the model (point, and a quantile pair per fold) runs on the threads, so two
    folds and 40 trees check the same thing as the demo's four folds and 600 trees, at a fraction
    of the fits; 30 histories train it and 15 others are predicted (reading a history file is the
    slow part, so the other 55 files are not read).
    """
    from assetgrade.datasets.linked import FLEET_RUL_CAP
    from assetgrade.grading.demo import write_sample_fleet
    from assetgrade.grading.fleet_rul import FleetHistories, fit_fleet_rul

    end_rul = write_sample_fleet(tmp_path / "fleet")
    for extra in sorted((tmp_path / "fleet").iterdir())[45:]:
        extra.unlink()  # its end_rul row is then reported as naming no file, and skipped
    fleet = read_fleet_histories(tmp_path / "fleet", end_rul_csv=end_rul)
    assert len(fleet.names) == 45
    part = FleetHistories(fleet.names[:30], fleet.frames[:30], fleet.end_rul[:30])
    one, two = (fit_fleet_rul(part, cap=FLEET_RUL_CAP, seed=0, n_estimators=40, n_folds=2, n_jobs=j)
                .predict(fleet.frames[30:])
                for j in (1, 2))
    assert np.array_equal(np.c_[one.rul, one.lower, one.upper], np.c_[two.rul, two.lower, two.upper])
    assert np.ptp(one.rul) > 10  # a model that learned something, not a constant


def test_unusable_channels_are_those_that_fail_the_series_checks_one_by_one() -> None:
    # one check of the whole frame stands for the per-channel checks only when every channel passes
    from assetgrade.grading.fleet_rul import MIN_HISTORY_LENGTH, _unusable_channels
    from assetgrade.modalities.sensors.validate import check_series

    def one_by_one(frame: pd.DataFrame) -> dict[str, str]:
        out = {}
        for c in frame.columns:
            try:
                check_series(frame, evidence_id="f", channels=[str(c)], min_length=MIN_HISTORY_LENGTH)
            except ValidationError as exc:
                out[str(c)] = exc.reason
        return out

    n = MIN_HISTORY_LENGTH + 20
    rng = np.random.default_rng(0)
    clean = pd.DataFrame({"temp": rng.normal(size=n), "vib": rng.normal(size=n), "flat": np.ones(n)},
                         index=pd.Index(np.arange(n, dtype=float), name="t"))
    dead = clean.assign(vib=np.nan)
    text = clean.assign(temp=["x"] * n)
    huge = clean.assign(flat=1e200)
    short = clean.iloc[: MIN_HISTORY_LENGTH - 1]
    stuck = clean.set_axis(pd.Index(np.r_[0.0, 0.0, np.arange(2.0, n)], name="t"))
    for name, frame in [("clean", clean), ("dead", dead), ("text", text), ("huge", huge), ("short", short),
                        ("stuck", stuck)]:
        assert _unusable_channels(frame, "f") == one_by_one(frame), name
    assert _unusable_channels(clean, "f") == {}
    assert set(_unusable_channels(dead, "f")) == {"vib"} and set(_unusable_channels(short, "f")) == set(clean.columns)
