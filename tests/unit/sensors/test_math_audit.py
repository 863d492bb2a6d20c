"""Numerical checks of the sensor modality against the standard definitions (math audit)."""

from __future__ import annotations

import numpy as np

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
