"""Numerical checks of the sensor modality against the standard definitions (math audit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assetgrade.modalities.sensors.features import RegimeNormalizer
from assetgrade.modalities.sensors.health import conformal_correction


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
