"""Numerical checks of the sensor modality against the standard definitions (math audit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.features import RegimeNormalizer, rolling_features, window_statistics
from assetgrade.modalities.sensors.health import conformal_correction
from assetgrade.store.records import AssetRecord, SeriesRef


def test_conformal_correction_is_the_ceil_n_plus_1_coverage_th_smallest_score() -> None:
    # Romano, Patterson & Candès 2019: the ⌈(n+1)(1-α)⌉-th smallest score; scores here are 0..n-1
    for n in (10, 19, 20, 57, 100):
        y = np.arange(n, dtype=float)
        rank = min(n, int(np.ceil((n + 1) * 0.9 - 1e-9)))
        got = conformal_correction(y, np.zeros(n), np.zeros(n), 0.9)
        assert got == float(rank - 1), (n, got, rank)
        # equal weights are no weights
        assert conformal_correction(y, np.zeros(n), np.zeros(n), 0.9, np.ones(n)) == got


def _regimes(levels: int, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    lv = np.repeat(np.arange(float(levels)), rows)
    return pd.DataFrame({"setting1": lv * 10 + rng.normal(0, 0.01, lv.size), "s": lv * 3 + rng.normal(0, 1, lv.size)})


def test_regime_count_equal_to_max_regimes_is_found() -> None:
    rng = np.random.default_rng(0)
    for levels in (6, 8):  # 8 = max_regimes: the last k tried used to be unreachable (one regime came out)
        nz = RegimeNormalizer().fit([_regimes(levels, 60, rng)], settings=["setting1"], channels=["s"])
        assert nz.n_regimes_ == levels
    nz = RegimeNormalizer(max_regimes=3).fit([_regimes(3, 60, rng)], settings=["setting1"], channels=["s"])
    assert nz.n_regimes_ == 3
    noise = pd.DataFrame({"setting1": rng.normal(0, 1e-3, 400), "s": rng.normal(0, 1, 400)})
    assert RegimeNormalizer().fit([noise], settings=["setting1"], channels=["s"]).n_regimes_ == 1


def test_a_regime_of_one_training_row_is_centred_on_it() -> None:
    rng = np.random.default_rng(0)
    lv = np.r_[np.repeat([0.0, 10.0], 100), [40.0]]  # a third operating condition seen once in training
    frame = pd.DataFrame({"setting1": lv + rng.normal(0, 0.01, lv.size), "s": 500 + lv * 3 + rng.normal(0, 1, lv.size)})
    nz = RegimeNormalizer().fit([frame], settings=["setting1"], channels=["s"])
    assert nz.n_regimes_ == 3
    z = nz.transform(frame)["s"].to_numpy()
    assert abs(z[-1]) < 1e-9  # its own row: zero, not the raw 620
    live = pd.DataFrame({"setting1": [40.0], "s": [622.0]})
    assert 1.0 < float(nz.transform(live)["s"].iloc[0]) < 4.0  # 2 above, in units of the pooled std (~1)


def _record(name: str, frame: pd.DataFrame, rate: float | None) -> AssetRecord:
    return AssetRecord(name, series=(SeriesRef(f"{name}-s", "0", load=lambda: frame, sampling_rate_hz=rate),))


def test_spectrum_without_a_sampling_rate_or_with_few_samples() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(512) / 100.0  # 100 Hz
    fit = [_record(f"a{k}", pd.DataFrame({"vib": np.sin(2 * np.pi * 20 * t) + rng.normal(0, 0.1, t.size)},
                                         index=t), 100.0) for k in range(3)]
    ex = SensorExtractor().fit(fit)
    unrated = _record("u", pd.DataFrame({"vib": np.sin(2 * np.pi * 20 * t)}, index=t), None)
    short = _record("s", pd.DataFrame({"vib": rng.normal(0, 1, 6)}, index=t[:6]), 100.0)
    block = ex.extract([unrated, short])
    dom = list(block.feature_names).index("vib__dominant_hz")
    # the rate comes from the time index (as ingest records it), not 1 Hz (which said 0.2)
    assert abs(block.features[0, dom] - 20.0) < 0.5
    assert any("no sampling rate" in f for f in block.quality_flags["u"])
    # 6 samples: no spectrum, but the asset keeps its window features (it used to be left out)
    assert block.present.tolist() == [True, True]
    bands = [j for j, n in enumerate(block.feature_names) if n.startswith("vib__band") or n == "vib__dominant_hz"]
    assert np.isnan(block.features[1, bands]).all()
    assert np.isfinite(block.features[1, list(block.feature_names).index("vib__mean")])
    assert any("spectrum needs 8" in f for f in block.quality_flags["s"])


def test_skewness_and_kurtosis_of_large_values_do_not_overflow() -> None:
    # the series checks accept values up to 1e150; c**4 overflowed from ~1e77 (kurtosis 0, or an OverflowError)
    base = np.random.default_rng(0).normal(size=60) ** 2
    want = rolling_features(pd.DataFrame({"a": base}), window=30).iloc[-1]
    for scale in (1e100, 1e140):
        frame = pd.DataFrame({"a": base * scale})
        every_row, last_row = rolling_features(frame, window=30), rolling_features(frame, window=30, last_only=True)
        for got in (every_row.iloc[-1], last_row.iloc[-1]):
            for k in ("a__skew", "a__kurt", "a__crest"):
                assert got[k] == pytest.approx(want[k], rel=1e-9), (scale, k)
        s = window_statistics(base * scale)
        assert s["skew"] == pytest.approx(stats.skew(base), rel=1e-9)
        assert s["kurt"] == pytest.approx(stats.kurtosis(base), rel=1e-9)


def test_slopes_are_least_squares_on_the_time_stamps_when_they_are_irregular() -> None:
    t = np.r_[np.arange(20.0), 20 + 3 * np.arange(20.0)]  # the step changes from 1 to 3
    line = rolling_features(pd.DataFrame({"a": 2 * t + 5}, index=t), window=10, slope_windows=(10, 30))
    assert line["a__slope10"].iloc[-1] == pytest.approx(2.0) and line["a__slope30"].iloc[-1] == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.5, 2.0, 120))
    x = rng.normal(size=120).cumsum()
    every = rolling_features(pd.DataFrame({"a": x}, index=t), window=10, slope_windows=(10,))["a__slope10"]
    last = rolling_features(pd.DataFrame({"a": x}, index=t), window=10, slope_windows=(10,), last_only=True)
    for r in (1, 5, 60, 119):
        lo = max(0, r - 9)
        assert every.iloc[r] == pytest.approx(np.polyfit(t[lo : r + 1], x[lo : r + 1], 1)[0], rel=1e-9, abs=1e-12)
    assert last["a__slope10"].iloc[-1] == pytest.approx(every.iloc[-1], rel=1e-12)
