"""Retraining's default fit reads the workspace's grader settings as ``train`` does, from any directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetgrade.grading.fleet_rul import FleetHistories, fit_fleet_rul, load_fleet_rul, save_fleet_rul
from assetgrade.lifecycle.retrain import default_fit
from assetgrade.store.records import AssetRecord, SeriesRef
from assetgrade.workspace import Workspace


def _history(rng: np.random.Generator, life: int) -> pd.DataFrame:
    """One unit's run to failure: temperature and vibration grow with wear."""
    wear = np.exp((np.arange(life) - life) / 15.0)
    return pd.DataFrame({"temp": 500 + 20 * wear + rng.normal(0, 0.5, life),
                         "vib": 1 + 3 * wear + rng.normal(0, 0.1, life)}, index=np.arange(1, life + 1))


def test_default_fit_reads_a_relative_rul_model_from_the_workspace_not_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    fleet = [_history(rng, int(rng.integers(50, 90))) for _ in range(8)]
    rul = fit_fleet_rul(FleetHistories([f"u{k}" for k in range(8)], fleet, [0.0] * 8, []), cap=40,
                        n_estimators=40, seed=0)
    Workspace.init(tmp_path / "ws").close()
    save_fleet_rul(rul, tmp_path / "ws" / "models" / "fleet-rul")
    with (tmp_path / "ws" / "assetgrade.yaml").open("a", encoding="utf-8") as fh:
        fh.write("grader:\n  extractors: [sensors]\n  folds: 3\n  review_on_contradiction: false\n"
                 "  extractor_settings: {sensors: {rul_model: models/fleet-rul}}\n")
    records = []
    for k in range(24):
        frame = _history(rng, int(rng.integers(50, 90)))
        cut = len(frame) - (int(rng.integers(30, 45)) if k % 2 else int(rng.integers(1, 8)))  # fresh: A, worn: D
        records.append(AssetRecord(f"a{k}", grade="A" if k % 2 else "D",
                                   series=(SeriesRef(f"s{k}", str(k), load=lambda f=frame, c=cut: f.iloc[:c]),)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no models/fleet-rul here: a cwd-relative read would fail
    with Workspace.open(tmp_path / "ws") as ws:
        grader = default_fit(ws)(records)
    ex = grader.extractors_["sensors"]
    assert ex.rul_model_.fingerprint_ == load_fleet_rul(tmp_path / "ws" / "models" / "fleet-rul").fingerprint_
    assert grader.extractor_settings["sensors"]["rul_model"] == "models/fleet-rul"  # the setting as written
