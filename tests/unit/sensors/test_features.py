"""Window statistics, trends, spectra and regime normalisation on series the tests make."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.sensors.features import (
    RegimeNormalizer,
    rolling_features,
    spectral_features,
    spectral_features_of_channels,
    window_statistics,
)


def test_known_slope_recovered_per_time_unit(rng: np.random.Generator) -> None:
    t = np.arange(0.0, 200.0, 2.0)  # a sample every 2 time units
    x = 0.25 * t + rng.normal(0, 0.05, len(t))
    f = rolling_features(pd.DataFrame({"x": x}, index=t), window=30, slope_windows=(10, 30))
    assert f["x__slope30"].iloc[-1] == pytest.approx(0.25, abs=0.01)
    assert f["x__slope10"].iloc[-1] == pytest.approx(0.25, abs=0.03)
    # change since commissioning: mean of the last 30 samples minus the first 30 = 70 samples x 2 x 0.25
    assert f["x__delta"].iloc[-1] == pytest.approx(35.0, abs=0.5)


def test_rolling_features_use_only_the_past() -> None:
    x = np.arange(50.0)
    full = rolling_features(pd.DataFrame({"x": x}), window=10)
    cut = rolling_features(pd.DataFrame({"x": x[:30]}), window=10)
    pd.testing.assert_frame_equal(full.iloc[:30], cut)


def test_window_statistics_match_numpy_and_scipy(rng: np.random.Generator) -> None:
    from scipy.stats import kurtosis, skew

    x = rng.gamma(2.0, 1.0, 500)
    s = window_statistics(x)
    assert s["std"] == pytest.approx(np.std(x, ddof=1))
    assert s["skew"] == pytest.approx(skew(x))
    assert s["kurt"] == pytest.approx(kurtosis(x))
    assert s["crest"] == pytest.approx(np.max(np.abs(x)) / np.sqrt(np.mean(x**2)))
    f = rolling_features(pd.DataFrame({"x": x}), window=500).iloc[-1]
    assert f["x__rms"] == pytest.approx(s["rms"])
    assert f["x__crest"] == pytest.approx(s["crest"])
    assert f["x__skew"] == pytest.approx(skew(x, bias=False), rel=1e-6)


def test_constant_window_gives_zero_shape_statistics() -> None:
    s = window_statistics(np.full(20, 3.0))
    assert (s["std"], s["skew"], s["kurt"]) == (0.0, 0.0, 0.0)
    f = rolling_features(pd.DataFrame({"c": np.full(20, 3.0)})).iloc[-1]
    assert np.isfinite(f.to_numpy()).all()


def test_known_sine_frequency_is_dominant(rng: np.random.Generator) -> None:
    fs = 1000.0
    t = np.arange(4096) / fs
    x = np.sin(2 * np.pi * 180.0 * t) + 0.2 * rng.normal(size=t.size)
    f = spectral_features(x, fs, n_bands=4)
    assert f["dominant_hz"] == pytest.approx(180.0, abs=2.0)
    assert f["band1"] > 0.8  # 125-250 Hz band holds the sine
    assert sum(f[f"band{b}"] for b in range(4)) == pytest.approx(1.0, abs=1e-9)


def test_spectral_features_reject_bad_input() -> None:
    with pytest.raises(ValidationError, match="sampling rate"):
        spectral_features(np.ones(100), 0.0)
    with pytest.raises(ValidationError, match="at least 8"):
        spectral_features(np.ones(4), 10.0)
    with pytest.raises(ValidationError, match="one channel"):
        spectral_features(np.ones((2, 100)), 10.0)
    with pytest.raises(ValidationError, match="channels x samples"):
        spectral_features_of_channels(np.ones(100), 10.0)
    assert spectral_features_of_channels(np.ones((0, 100)), 10.0) == []


def test_spectral_features_of_channels_equal_each_channel_alone(rng: np.random.Generator) -> None:
    fs = 250.0
    t = np.arange(700) / fs
    X = np.stack([np.sin(2 * np.pi * 20.0 * t), 1e5 + rng.normal(0, 1e-2, t.size), np.full(t.size, 4.0),
                  rng.normal(0, 1, t.size).cumsum()])
    together = spectral_features_of_channels(np.asfortranarray(X), fs, n_bands=3)  # strided rows, as a frame.T
    assert together == [spectral_features(x, fs, n_bands=3) for x in X]
    assert together[0]["dominant_hz"] == pytest.approx(20.0, abs=0.5) and together[2]["dominant_hz"] == 0.0


def test_regime_normalisation_removes_regime_offsets(rng: np.random.Generator) -> None:
    n = 600
    regime = rng.integers(0, 3, n)
    centres = np.array([[0.0, 0.2], [20.0, 0.7], [42.0, 0.84]])
    settings = centres[regime] + rng.normal(0, 0.001, (n, 2))
    x = np.array([500.0, 550.0, 610.0])[regime] + rng.normal(0, 1.0, n)
    frame = pd.DataFrame({"setting_1": settings[:, 0], "setting_2": settings[:, 1], "x": x})
    nz = RegimeNormalizer().fit([frame], settings=["setting_1", "setting_2"], channels=["x"])
    assert nz.n_regimes_ == 3
    z = nz.transform(frame)["x"].to_numpy()
    for r in range(3):
        assert abs(z[regime == r].mean()) < 0.05
        assert z[regime == r].std() == pytest.approx(1.0, abs=0.05)
    assert np.std(x) > 40 and np.std(z) < 1.1


def test_noise_only_settings_give_one_regime(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"setting_1": rng.normal(0, 0.002, 400), "x": rng.normal(0, 1, 400)})
    nz = RegimeNormalizer().fit([frame], settings=["setting_1"], channels=["x"])
    assert nz.n_regimes_ == 1
    z = (frame[["setting_1"]].to_numpy() - nz.center_) / nz.scale_
    np.testing.assert_array_equal(nz.regimes(frame), nz.kmeans_.predict(z))  # the one-regime shortcut: all 0


def _openmp_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "openmp"]


@pytest.mark.usefixtures("machine_threads")  # the default thread counts, also under xdist (tests/conftest.py)
def test_regime_kmeans_runs_on_one_openmp_thread_and_finds_the_default_threads_regimes(
    rng: np.random.Generator,
) -> None:
    """k-means on a few settings columns: one OpenMP thread (threads that spin-wait on a busy machine cost
    many times the work), the default thread count back afterwards, and the same regimes as on the default."""
    from sklearn.cluster import KMeans

    n = 900
    regime = rng.integers(0, 3, n)
    settings = np.array([[0.0, 0.2], [20.0, 0.7], [42.0, 0.84]])[regime] + rng.normal(0, 0.5, (n, 2))
    frame = pd.DataFrame({"setting_1": settings[:, 0], "setting_2": settings[:, 1], "x": rng.normal(0, 1, n)})
    KMeans(n_clusters=2, n_init=1, random_state=0).fit(settings)  # loads the OpenMP runtime before counting
    before = _openmp_threads()
    nz = RegimeNormalizer(n_regimes=3).fit([frame], settings=["setting_1", "setting_2"], channels=["x"])
    assert _openmp_threads() == before
    assert nz.kmeans_._n_threads == 1  # what KMeans.predict, the regime of every row, runs on
    z = (settings - nz.center_) / nz.scale_
    default = KMeans(n_clusters=3, n_init=3, random_state=0).fit(z)
    np.testing.assert_array_equal(nz.regimes(frame), default.predict(z))


def test_tiny_windows_do_not_crash() -> None:
    f = rolling_features(pd.DataFrame({"x": [0.0, 2.0, 4.0, 6.0]}), window=2, slope_windows=(2,))
    assert np.isfinite(f.to_numpy()).all()
    assert f["x__slope2"].iloc[-1] == 2.0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 10, 11, 30, 31, 250])
def test_last_row_alone_equals_the_last_row_of_all(n: int, rng: np.random.Generator) -> None:
    """``last_only`` (what grading a live asset reads) gives the full computation's last row: the
    window sums exactly, the rolling skew and kurtosis up to rounding."""
    t = np.cumsum(rng.uniform(0.5, 1.5, n))  # uneven sampling: the slope's step comes from the whole index
    df = pd.DataFrame(rng.normal(size=(n, 2)).cumsum(axis=0), columns=["a", "b"], index=t)
    df["flat"] = 7.0  # a constant window: pandas says NaN, both read 0
    df["almost"] = 1e6 + np.where(np.arange(n) == n - 1, 1e-4, 0.0)  # one tiny step on a large level
    full = rolling_features(df, window=10, slope_windows=(4, 10)).iloc[[-1]]
    last = rolling_features(df, window=10, slope_windows=(4, 10), last_only=True)
    assert list(last.columns) == list(full.columns) and last.index.equals(full.index)
    rounding = [c for c in full.columns if c.endswith(("__skew", "__kurt"))]
    exact = [c for c in full.columns if c not in rounding]
    assert np.array_equal(last[exact].to_numpy(), full[exact].to_numpy())
    assert np.allclose(last[rounding].to_numpy(), full[rounding].to_numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"last_only": True}, {"full_stats": False, "window": 7, "slope_windows": (3, 50)}])
def test_each_channel_is_computed_alone(kw: dict[str, object], rng: np.random.Generator) -> None:
    """All channels go through one array at once; no channel's features may depend on another's."""
    n = 120
    df = pd.DataFrame({"big": 1e6 + rng.normal(0, 1e-3, n).cumsum(), "tiny": rng.normal(0, 1e-6, n),
                       "flat": np.full(n, 3.0), "spike": np.r_[np.zeros(60), np.full(60, 40.0)] + rng.normal(0, 1, n)},
                      index=np.arange(n) * 0.5)
    together = rolling_features(df, **kw)  # type: ignore[arg-type]
    assert len(together.columns) == 4 * len(rolling_features(df[["flat"]], **kw).columns)  # type: ignore[arg-type]
    for c in df.columns:
        alone = rolling_features(df[[c]], **kw)  # type: ignore[arg-type]
        assert np.array_equal(together[alone.columns].to_numpy(), alone.to_numpy(), equal_nan=True), c


@pytest.mark.parametrize("last_only", [True, False])
def test_window_features_keep_their_digits_on_a_long_offset_series(last_only: bool) -> None:
    """A week of 1 Hz samples on a level of 1e5: the last window's std and slopes must be those of
    the window itself (cumulative sums over the whole history gave a 10-sample slope of the wrong sign)."""
    n = 604_800
    rng = np.random.default_rng(0)
    x = 1e5 + rng.normal(0, 1.0, n) + np.linspace(0.0, 5.0, n)
    frame = pd.DataFrame({"p": x}, index=np.arange(n, dtype=float))
    if not last_only:
        frame = frame.iloc[-200_000:]  # the full computation on a shorter (still long) tail, to stay fast
    f = rolling_features(frame, window=30, slope_windows=(10, 30), full_stats=False, last_only=last_only).iloc[-1]
    tail = x[-30:]
    assert f["p__std"] == pytest.approx(tail.std(ddof=1), rel=1e-9)
    assert f["p__mean"] == pytest.approx(tail.mean(), rel=1e-12)
    assert f["p__slope10"] == pytest.approx(np.polyfit(np.arange(10.0), x[-10:], 1)[0], rel=1e-6)
    assert f["p__slope30"] == pytest.approx(np.polyfit(np.arange(30.0), tail, 1)[0], rel=1e-6)
    assert f["p__last"] == pytest.approx(x[-5:].mean(), rel=1e-12)
