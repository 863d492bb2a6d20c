"""A RUL model counts life in rows: a series whose rows mean another time gets no remaining life, and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.modalities.sensors import SensorExtractor
from assetgrade.modalities.sensors.timing import RowTime, row_step, row_time

from .test_extractor import record
from .test_health import synthetic_fleet


def _hourly(frame: pd.DataFrame, every: str = "1h") -> pd.DataFrame:
    out = frame.copy()
    out.index = pd.date_range("2024-01-01", periods=len(frame), freq=every, tz="UTC")
    return out


def test_row_step_and_the_fleet_row_time() -> None:
    f = pd.DataFrame({"v": [1.0, 2, 3, 4]}, index=[0.0, 2, 4, 7])
    assert row_step(f) == 2.0 and row_step(f.iloc[:1]) is None
    assert row_step(_hourly(f)) == 3600.0
    assert row_time([f, f]) == RowTime("numeric", 2.0)
    assert row_time([_hourly(f), _hourly(f, "2h"), _hourly(f, "2h")]) == RowTime("datetime", 7200.0)
    assert row_time([f, _hourly(f)]) is None  # kinds differ: nothing to compare with
    assert row_time([f.reset_index(drop=True)]) is None  # a plain row number is no time axis
    hourly = RowTime("datetime", 3600.0)
    assert hourly.describe() == "1 h" and hourly.describe(600.0) == "10 min"
    assert hourly.mismatch(_hourly(f, "80min")) is None  # within 1.5 times
    why = hourly.mismatch(_hourly(f, "10min"))
    assert why is not None and "one row every 10 min" in why and "one every 1 h" in why and "0.167 times" in why
    assert "time axis is numeric" in (hourly.mismatch(f) or "")


def test_a_series_sampled_faster_than_the_fleet_gets_no_remaining_life(rng: np.random.Generator) -> None:
    fleet = [_hourly(h) for h in synthetic_fleet(rng, 30)]
    ex = SensorExtractor(window=10, slope_windows=(5, 10), rul_settings={"cap": 40, "n_estimators": 40})
    ex.fit_rul(fleet)
    assert ex.rul_model_.row_time_ == RowTime("datetime", 3600.0)
    same, fast = (_hourly(h) for h in synthetic_fleet(rng, 2))
    fast.index = pd.date_range("2024-01-01", periods=len(fast), freq="10min", tz="UTC")
    block = ex.extract([record("same", same), record("fast", fast)])
    col = list(block.feature_names).index("rul")
    assert np.isfinite(block.features[0, col]) and np.isnan(block.features[1, col])
    assert block.present.tolist() == [True, True]  # the window features are still there; only the RUL is refused
    assert block.grade_proba is not None and np.isnan(block.grade_proba[1]).all()
    (flag,) = [f for f in block.quality_flags["fast"] if "no remaining life" in f]
    assert flag.startswith("fast-s: no remaining life: one row every 10 min") and "1 h" in flag
    assert not any(f.summary.startswith("remaining useful life") for f in block.findings["fast"])
    # a model saved before the row time was recorded is not checked (it has nothing to compare with)
    del ex.rul_model_.row_time_
    again = SensorExtractor(window=10, slope_windows=(5, 10), rul_model=ex.rul_model_)
    again.fit([record("same", same)])
    assert np.isfinite(again.extract([record("fast2", fast)]).features[0, col])


@pytest.mark.parametrize("every", ["1h", "45min"])
def test_the_saved_bundle_and_the_cli_say_what_one_row_meant(tmp_path, every: str) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    rng = np.random.default_rng(3)
    folder = tmp_path / "fleet"
    folder.mkdir()
    for k, h in enumerate(synthetic_fleet(rng, 8)):
        h = _hourly(h, every)
        h.index = h.index.strftime("%Y-%m-%dT%H:%M:%SZ")
        h.rename_axis("time").to_csv(folder / f"unit{k}.csv")
    r = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(folder), "--out", str(tmp_path / "rul"),
                                         "--cap", "40"])
    assert r.exit_code == 0, r.output
    said = {"1h": "1 h", "45min": "45 min"}[every]
    assert f"one row every {said}" in r.output
    info = json.loads((tmp_path / "rul" / "bundle.json").read_text())
    assert info["row_time"]["kind"] == "datetime" and info["row_time"]["step_text"] == said
