"""The demo end to end: the shipped fleet trains the sensors' RUL model, the config names it, grades read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgrade.datasets.linked import sample_fleet
from assetgrade.grader import Grader
from assetgrade.grading.demo import FLEET_RUL_DIR, run_demo, write_sample_fleet
from assetgrade.grading.fleet_rul import read_fleet_histories
from assetgrade.workspace import Workspace


def test_the_shipped_fleet_reads_back_through_the_fit_rul_reader(tmp_path: Path) -> None:
    folder = tmp_path / "import" / "fleet"
    end_csv = write_sample_fleet(folder)
    assert end_csv.parent == folder.parent  # outside the folder: the reader takes every CSV there as a history
    fleet = read_fleet_histories(folder, end_rul_csv=end_csv)
    histories, end_rul = sample_fleet()
    assert fleet.errors == [] and len(fleet.frames) == 100
    assert fleet.end_rul == end_rul
    assert [len(f) for f in fleet.frames] == [len(h) for h in histories]
    assert list(fleet.frames[0].columns) == list(histories[0].columns)


@pytest.mark.slow
def test_demo_trains_the_fleet_rul_model_and_grades_with_it(tmp_path: Path) -> None:
    said: list[str] = []
    summary = run_demo(tmp_path / "demo", n_assets=40, folds=2, n_reports=1, progress=said.append)
    assert summary["assets"] == 40 and summary["ingest"]["errors"] == 0
    assert summary["fleet_rul"]["histories"] == 100 and summary["fleet_rul"]["skipped"] == 0
    assert any("fleet remaining-life model" in m for m in said)
    with Workspace.open(tmp_path / "demo") as ws:
        section = ws.config.section("grader")
    assert section["extractor_settings"]["sensors"]["rul_model"] == FLEET_RUL_DIR  # `assetgrade train` does the same
    grader = Grader.load(Path(summary["model_dir"]))
    assert grader.extractors_["sensors"].rul_model_.n_histories_ == 100
    saved = json.loads((tmp_path / "demo" / "reports" / "demo-summary.json").read_text(encoding="utf-8"))
    assert saved["fleet_rul"] == summary["fleet_rul"]
    index = Path(summary["index"]).read_text(encoding="utf-8")  # one page: relative links to reports and plots
    for p in [*summary["reports"], *summary["plots"].values()]:
        assert f'"{Path(p).name}"' in index and (Path(summary["index"]).parent / Path(p).name).exists()
    assert f"model {summary['model_version']}" in index and "extractor on its own label" in index
    with Workspace.open(tmp_path / "demo") as ws:
        result = grader.grade(summary["reports"][0].rsplit("grade-", 1)[1].removesuffix(".html"), workspace=ws)
    sensors = next(e for e in result.evidence if e.modality == "sensors")
    assert any(f.summary.startswith("remaining useful life") for f in sensors.findings)
