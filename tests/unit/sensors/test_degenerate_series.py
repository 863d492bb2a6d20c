"""Grading an asset whose only series is degenerate (constant, one row, nothing left after cleaning): the sensor
evidence is absent with a flag that says why, never a grade read off zeros, never a crash (the audit of 2026-12-02)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.store.records import AssetRecord, SeriesRef


def _rec(aid: str, df: pd.DataFrame) -> AssetRecord:
    return AssetRecord(aid, series=(SeriesRef(f"e-{aid}", "0", load=lambda: df, sampling_rate_hz=1.0),))


@pytest.fixture(scope="module")
def fitted() -> SensorExtractor:
    rng = np.random.default_rng(0)
    recs = [_rec(f"g{i}", pd.DataFrame({"vib": rng.normal(size=200) * (1 + i % 4), "temp": 20 + rng.normal(size=200)},
                                       index=np.arange(200.0))) for i in range(8)]
    return SensorExtractor(C=1.0).fit(recs, ["A", "B", "C", "D"] * 2)


@pytest.mark.parametrize("level", [0.0, 20.0])
def test_a_series_whose_every_channel_is_constant_is_absent_and_says_so(fitted: SensorExtractor, level: float) -> None:
    flat = pd.DataFrame({"vib": np.full(200, level), "temp": np.full(200, level)}, index=np.arange(200.0))
    block = fitted.extract([_rec("flat", flat)])
    assert not block.present[0]
    assert np.isnan(block.features[0]).all()
    assert block.grade_proba is not None and np.isnan(block.grade_proba[0]).all()
    assert block.quality_flags["flat"] == ["series e-flat: every channel the model reads is constant (vib, temp): a"
                                           " stuck or disconnected sensor says nothing of the asset's condition"]


def test_one_constant_channel_beside_a_live_one_is_still_evidence(fitted: SensorExtractor) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"vib": rng.normal(size=200), "temp": np.full(200, 20.0)}, index=np.arange(200.0))
    block = fitted.extract([_rec("half", df)])
    assert block.present[0] and block.quality_flags["half"] == ["e-half:temp: constant channel"]


_ABSENT = {
    "one row": (pd.DataFrame({"vib": [0.5], "temp": [20.0]}, index=[0.0]), "too short: 1 rows, need at least 5"),
    "no rows": (pd.DataFrame({"vib": [], "temp": []}, dtype=float), "too short: 0 rows, need at least 5"),
    "all NaN": (pd.DataFrame({"vib": np.full(50, np.nan), "temp": np.full(50, 20.5)}, index=np.arange(50.0)),
                "channel vib: 50 of 50 values missing (more than 20%): dead or misaligned channel"),
    "all inf": (pd.DataFrame({"vib": np.full(50, np.inf), "temp": np.full(50, 20.5)}, index=np.arange(50.0)),
                "channel vib: 50 of 50 values missing (more than 20%): dead or misaligned channel"),
}


def test_what_already_behaved_short_and_empty_series_are_absent_with_a_reason(fitted: SensorExtractor) -> None:
    recs = [_rec(k.replace(" ", "_"), df) for k, (df, _why) in _ABSENT.items()]
    block = fitted.extract(recs)
    assert not block.present.any() and np.isnan(block.features).all()
    assert block.grade_proba is not None and np.isnan(block.grade_proba).all()
    for rec, (_df, why) in zip(recs, _ABSENT.values(), strict=True):
        (flag,) = block.quality_flags[rec.asset_id]
        assert flag.startswith(f"series e-{rec.asset_id}") and why in flag, flag
