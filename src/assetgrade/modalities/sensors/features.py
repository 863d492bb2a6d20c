"""Features of a sensor series: window statistics, trends, spectra, per-regime normalisation.

* Window statistics over the most recent ``window`` samples: mean, std, RMS, skewness, kurtosis
  (excess), crest factor (max |x| / RMS).
* Trends: least-squares slopes over the recent ``slope_windows`` (per time unit of the index) and
  the change since commissioning (mean of the last window minus mean of the first window).
* Spectra (when a sampling rate is known): Welch's averaged periodogram (Welch 1967, IEEE Trans.
  Audio Electroacoustics 15(2)) split into ``n_bands`` equal bands of relative energy, plus the
  dominant frequency.
* Operating-regime normalisation: the operating settings are clustered with k-means and every
  channel is z-scored per regime (as C-MAPSS FD002's six flight conditions need; cf. Wang et al.
  2008, "A similarity-based prognostics approach", PHM 2008).

:func:`rolling_features` computes the window features at *every* row (each row seeing only itself
and the past), so a model can be trained on every truncation point of a run-to-failure history
and applied to the last row of a live one with the very same code.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from assetgrade.errors import ValidationError

__all__ = [
    "MIN_SPECTRUM_SAMPLES",
    "STAT_NAMES",
    "RegimeNormalizer",
    "check_slope_windows",
    "rolling_features",
    "spectral_features",
    "spectral_features_of_channels",
    "window_statistics",
]

STAT_NAMES: tuple[str, ...] = ("mean", "std", "rms", "skew", "kurt", "crest")
MIN_SPECTRUM_SAMPLES = 8
"""Samples :func:`spectral_features` needs at least."""
_EPS = 1e-9


def window_statistics(x: npt.ArrayLike) -> dict[str, float]:
    """Mean, std, RMS, skewness, excess kurtosis and crest factor of one window.

    Examples
    --------
    >>> s = window_statistics([1.0, -1.0, 1.0, -1.0])
    >>> s["rms"], s["crest"], s["mean"]
    (1.0, 1.0, 0.0)
    """
    a = np.asarray(x, dtype=float)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValidationError("window must be non-empty and finite", where="window_statistics")
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    rms = float(np.sqrt(np.mean(a * a)))
    c = a - mean
    m2 = float(np.mean(c * c))
    cs = _pow2_scaled(c)  # the same moments' ratios, without overflow on large values
    s2 = float(np.mean(cs * cs))
    skew = float(np.mean(cs**3) / s2**1.5) if m2 > _EPS else 0.0
    kurt = float(np.mean(cs**4) / s2**2 - 3.0) if m2 > _EPS else 0.0
    crest = float(np.max(np.abs(a)) / rms) if rms > _EPS else 0.0
    return {"mean": mean, "std": std, "rms": rms, "skew": skew, "kurt": kurt, "crest": crest}


def _pow2_scaled(x: np.ndarray) -> np.ndarray:
    """``x`` divided by the power of two nearest its largest magnitude (along the last axis).

    Skewness and kurtosis do not depend on the scale, and dividing by a power of two is exact, so
    their values keep every bit while third and fourth powers stay far from overflow (a channel of
    1e100, which the series checks accept, had its kurtosis overflow to 0).
    """
    peak = np.max(np.abs(x), axis=-1, keepdims=True) if x.size else np.ones((*x.shape[:-1], 1))
    return x / np.exp2(np.round(np.log2(np.where(peak > 0, peak, 1.0))))


def _skew_kurt(a: np.ndarray) -> tuple[float, float]:
    """Sample skewness and excess kurtosis of one window, bias-corrected as pandas' rolling ``skew``
    and ``kurt`` are (NaN below 3 and 4 values, and for a constant window); :func:`window_statistics`
    gives the uncorrected moments, which the rolling features never used.

    >>> [round(v, 6) for v in _skew_kurt(np.array([0.0, 1.0, 2.0, 7.0]))]
    [1.597078, 2.703924]
    """
    n = len(a)
    if n < 3 or np.all(a == a[0]):
        return float("nan"), float("nan")
    d = a - a[0]  # exact for values near the first (Sterbenz), so a small change on a large level keeps its digits
    c = _pow2_scaled(d - d.mean())  # scale-free moments; c**4 of values beyond ~1e77 overflowed
    m2, m3 = float(np.mean(c * c)), float(np.mean(c**3))
    skew = np.sqrt(n * (n - 1.0)) / (n - 2.0) * m3 / m2**1.5
    if n < 4:
        return float(skew), float("nan")
    m4 = float(np.mean(c**4))
    kurt = ((n * n - 1.0) * m4 / (m2 * m2) - 3.0 * (n - 1.0) ** 2) / ((n - 2.0) * (n - 3.0))
    return float(skew), float(kurt)


_CHUNK_VALUES = 4_000_000
"""Window values gathered at once (32 MB of floats) when every row's window is computed."""


def _window_moments(X: np.ndarray, rows: np.ndarray, w: int, t: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per channel (row of ``X``) and per row ``i`` of ``rows``, over the window [max(0, i - w + 1), i]:
    the window's first value x0, the sums of d, d² and k·d with d = x − x0 and k = 0, 1, ... the
    position in the window (with ``t``, the times: k = t − t0, the time since the window's first
    row), and the window length m.

    Each window is summed on its own values, relative to its own first value: cumulative sums over
    the whole history lose the digits of a small window on a long or offset series (on a week of
    1 Hz samples a 10-sample slope came out with the wrong sign). The same row gives the same bits
    whichever other rows are asked for (``last_only`` reads exactly what the full computation does).
    """
    C = X.shape[0]
    lo = np.maximum(0, rows - w + 1)
    m = rows + 1 - lo
    x0, s1, s2, sk = (np.empty((C, len(rows))) for _ in range(4))

    head = np.flatnonzero(m < w)  # windows cut by the start of the series: all begin at row 0
    if len(head):
        h = int(m[head].max())
        d = X[:, :h] - X[:, :1]
        x0[:, head] = X[:, :1]
        k = np.arange(h, dtype=float) if t is None else t[:h] - t[0]
        for out, v in ((s1, d), (s2, d * d), (sk, d * k)):
            out[:, head] = np.cumsum(v, axis=-1)[:, m[head] - 1]  # a short prefix: no digits lost
    full = np.flatnonzero(m == w)
    if len(full):
        view = np.lib.stride_tricks.sliding_window_view(X, w, axis=-1)  # (channels, n - w + 1, w), no copy
        times = None if t is None else np.lib.stride_tricks.sliding_window_view(t, w)
        k = np.arange(w, dtype=float)
        step = max(1, _CHUNK_VALUES // max(1, C * w))
        for a in range(0, len(full), step):
            at = full[a : a + step]  # consecutive rows: their windows are one slice of the view
            V = view[:, int(lo[at[0]]) : int(lo[at[-1]]) + 1, :]
            d = V - V[..., :1]
            x0[:, at], s1[:, at], s2[:, at] = V[..., 0], d.sum(axis=-1), (d * d).sum(axis=-1)
            if times is not None:
                T = times[int(lo[at[0]]) : int(lo[at[-1]]) + 1]
                k = T - T[:, :1]  # (rows, w): each window's own times since its first row
            sk[:, at] = (d * k).sum(axis=-1)
    return x0, s1, s2, sk, m.astype(float)


def check_slope_windows(value: object, owner: str) -> None:
    """Refuse ``slope_windows`` other than a list of distinct whole numbers >= 2 (numpy's included; not bools or text).

    One row has no slope (the column was all zeros) and a repeated window made two columns of one name. The
    sensors extractor and the RUL model check theirs with it, in one wording; ``owner`` names the class
    (``where`` is ``<owner>.slope_windows``).

    >>> check_slope_windows([10, 10], "RulModel")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: RulModel.slope_windows: slope_windows=[10, 10]; allowed: a list of distinct ...
    """
    def whole(w: object) -> bool:
        return isinstance(w, numbers.Integral) and not isinstance(w, bool | np.bool_) and int(w) >= 2

    if not (isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes) and np.ndim(value) == 1
            and all(whole(w) for w in value) and len({int(w) for w in value}) == len(value)):
        raise ValidationError(f"slope_windows={value!r}; allowed: a list of distinct whole numbers >= 2",
                              where=f"{owner}.slope_windows")


def rolling_features(
    frame: pd.DataFrame,
    *,
    window: int = 30,
    slope_windows: Sequence[int] = (10, 30),
    last_window: int = 5,
    full_stats: bool = True,
    last_only: bool = False,
) -> pd.DataFrame:
    """Window features of every channel at every row, each row using only itself and the past.

    Columns are ``{channel}__{feature}`` with features ``mean, std, rms, skew, kurt, crest`` (the
    last four only with ``full_stats``), ``slope{w}`` per slope window (per unit of the index),
    ``delta`` (mean of the last ``window`` minus mean of the first ``window`` rows: change since
    commissioning) and ``last`` (mean of the last ``last_window`` rows, a de-noised current value).
    Early rows use the rows there are (a window of fewer samples). ``last_only=True`` returns the
    last row alone (what grading a live asset reads), without computing the others: the same
    values, the rolling skew and kurtosis up to floating-point rounding.

    Examples
    --------
    >>> import pandas as pd
    >>> f = rolling_features(pd.DataFrame({"x": [0.0, 2.0, 4.0, 6.0]}), window=3, slope_windows=(3,))
    >>> f["x__slope3"].tolist(), f["x__delta"].tolist()
    ([0.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 2.0])
    """
    n = len(frame)
    if n == 0:
        raise ValidationError("empty series", where="rolling_features")
    t = np.asarray(frame.index, dtype=float)
    i = np.arange(n - 1, n) if last_only else np.arange(n)  # the rows to compute
    # every channel at once, one contiguous row per channel (each row's sums and means are the 1-D ones)
    X = np.ascontiguousarray(frame.to_numpy(dtype=float).T)

    x0, s1, s2, _, m = _window_moments(X, i, window)
    mean = x0 + s1 / m
    var = np.maximum(s2 / m - (s1 / m) ** 2, 0.0)  # of d = x - x0: no cancellation against the level
    std = np.sqrt(var * m / np.maximum(m - 1, 1))
    per: dict[str, np.ndarray] = {"mean": mean, "std": std}  # name -> (channels, rows)
    if full_stats:
        rms = np.sqrt(mean * mean + var)
        if last_only:  # one window: its moments directly (pandas' rolling machinery costs ~1 ms a call)
            tails = X[:, -window:]
            sk = np.array([_skew_kurt(tail) for tail in tails]).reshape(len(X), 2)
            skew, kurt = sk[:, :1], sk[:, 1:]
            peak = np.abs(tails).max(axis=1, keepdims=True)
        else:
            rolled = [pd.Series(x) for x in X]
            scaled = [pd.Series(x) for x in _pow2_scaled(X)]  # scale-free moments, without overflow
            skew = np.array([r.rolling(window, min_periods=min(3, window)).skew().to_numpy() for r in scaled])
            kurt = np.array([r.rolling(window, min_periods=min(4, window)).kurt().to_numpy() for r in scaled])
            peak = np.array([r.abs().rolling(window, min_periods=1).max().to_numpy() for r in rolled])
        per["rms"] = rms
        per["skew"] = np.nan_to_num(skew, nan=0.0, posinf=0.0, neginf=0.0)
        per["kurt"] = np.nan_to_num(kurt, nan=0.0, posinf=0.0, neginf=0.0)
        per["crest"] = np.where(rms > _EPS, peak / np.maximum(rms, _EPS), 0.0)
    for w in slope_windows:
        # least squares on the window's times τ = t - t0: (m Σ τd - Σ τ Σ d) / (m Σ τ² - (Σ τ)²). It used
        # positions over the median step, 3x off where the step changed inside the window
        _, ws1, _, wsk, wm = _window_moments(X, i, w, t)
        _, ts1, ts2, _, _ = _window_moments(t[None, :], i, w)  # Σ τ and Σ τ² of each window
        num = wm * wsk - ts1 * ws1
        den = wm * ts2 - ts1 * ts1
        ok = (wm > 1) & (den > 0)
        per[f"slope{w}"] = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
    first, at = np.unique(np.minimum(i, window - 1), return_inverse=True)  # the first window (so far)
    f0, fs1, _, _, fm = _window_moments(X, first, window)
    per["delta"] = mean - (f0 + fs1 / fm)[:, at]
    l0, ls1, _, _, lm = _window_moments(X, i, last_window)
    per["last"] = l0 + ls1 / lm
    names = [f"{c}__{k}" for c in frame.columns for k in per]
    values = np.stack(list(per.values()), axis=1).reshape(len(X) * len(per), len(i)).T  # (rows, channel-major cols)
    return pd.DataFrame(values, index=frame.index[-1:] if last_only else frame.index, columns=names)


def spectral_features(x: npt.ArrayLike, sampling_rate_hz: float, *, n_bands: int = 4) -> dict[str, float]:
    """Welch band energies (share of total power in ``n_bands`` equal bands to Nyquist) and dominant frequency.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(2048) / 100.0
    >>> f = spectral_features(np.sin(2 * np.pi * 10.0 * t), 100.0)
    >>> round(f["dominant_hz"], 1), f["band0"] > 0.9
    (10.0, True)
    """
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValidationError(f"one channel expected, got shape {a.shape}", where="spectral_features")
    return spectral_features_of_channels(a[None, :], sampling_rate_hz, n_bands=n_bands)[0]


def spectral_features_of_channels(X: npt.ArrayLike, sampling_rate_hz: float, *, n_bands: int = 4
                                  ) -> list[dict[str, float]]:
    """:func:`spectral_features` of each row of ``X`` (one channel per row), with one Welch call for all.

    Each row's values are the ones :func:`spectral_features` gives for that row alone.

    >>> import numpy as np
    >>> X = np.sin(2 * np.pi * np.outer([5, 20], np.arange(1024) / 100.0))
    >>> [round(f["dominant_hz"]) for f in spectral_features_of_channels(X, 100.0)]
    [5, 20]
    """
    from scipy.signal import welch

    A = np.ascontiguousarray(np.asarray(X, dtype=float))  # contiguous rows: each row's mean is its 1-D mean
    if sampling_rate_hz <= 0:
        raise ValidationError(f"sampling rate must be positive, got {sampling_rate_hz}", where="spectral_features")
    if A.ndim != 2:
        raise ValidationError(f"channels x samples expected, got shape {A.shape}", where="spectral_features")
    if A.shape[1] < MIN_SPECTRUM_SAMPLES:
        raise ValidationError(f"need at least {MIN_SPECTRUM_SAMPLES} samples for a spectrum, got {A.shape[1]}",
                              where="spectral_features")
    if A.shape[0] == 0:
        return []
    centred = np.ascontiguousarray(A - np.array([row.mean() for row in A])[:, None])
    freqs, powers = welch(centred, fs=sampling_rate_hz, nperseg=min(256, A.shape[1]), axis=-1)
    edges = np.linspace(0.0, sampling_rate_hz / 2.0, n_bands + 1)
    sels = [(freqs >= edges[b]) & ((freqs < edges[b + 1]) if b < n_bands - 1 else (freqs <= edges[b + 1]))
            for b in range(n_bands)]
    return [_spectral_summary(freqs, np.ascontiguousarray(power), sels) for power in powers]


def _spectral_summary(freqs: np.ndarray, power: np.ndarray, sels: list[np.ndarray]) -> dict[str, float]:
    total = float(power.sum())
    feats: dict[str, float] = {}
    for b, sel in enumerate(sels):
        feats[f"band{b}"] = float(power[sel].sum() / total) if total > 0 else 0.0
    if total > 0:
        k = int(np.argmax(power))
        # parabolic interpolation of the peak on the log-power spectrum for a sub-bin frequency
        if 0 < k < len(power) - 1 and np.all(power[k - 1 : k + 2] > 0):
            la, lb, lc = np.log(power[k - 1 : k + 2])
            den = la - 2 * lb + lc
            shift = 0.5 * (la - lc) / den if den != 0 else 0.0
            feats["dominant_hz"] = float(freqs[k] + shift * (freqs[1] - freqs[0]))
        else:
            feats["dominant_hz"] = float(freqs[k])
    else:
        feats["dominant_hz"] = 0.0
    return feats


class RegimeNormalizer:
    """Per-operating-regime z-scores: k-means on the operating settings, then mean/std per regime.

    ``n_regimes=None`` picks the smallest k in 1..``max_regimes`` whose k-means inertia is below
    ``tol`` of the one-cluster inertia (well separated flight conditions) and whose next split cuts
    the inertia by less than half (it would only split noise); noise-only settings (C-MAPSS FD001)
    give one regime, FD002's six conditions give six.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> regime = np.repeat([0.0, 10.0], 50)
    >>> f = pd.DataFrame({"op": regime + rng.normal(0, 0.01, 100), "x": regime * 3 + rng.normal(0, 1, 100)})
    >>> nz = RegimeNormalizer().fit([f], settings=["op"], channels=["x"])
    >>> nz.n_regimes_, abs(float(nz.transform(f)["x"].mean())) < 1e-9
    (2, True)
    """

    def __init__(self, *, n_regimes: int | None = None, max_regimes: int = 8, tol: float = 0.01, seed: int = 0):
        self.n_regimes = n_regimes
        self.max_regimes = max_regimes
        self.tol = tol
        self.seed = seed

    def fit(self, frames: Sequence[pd.DataFrame], *, settings: Sequence[str], channels: Sequence[str]) -> Self:
        """Learn the regimes from the settings columns and the per-regime channel mean and std."""
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        self.settings_ = list(settings)
        self.channels_ = list(channels)
        data = pd.concat([f[[*self.settings_, *self.channels_]] for f in frames], ignore_index=True)
        if self.settings_:
            s = data[self.settings_].to_numpy(float)
            self.scale_ = np.where(s.std(axis=0) > 0, s.std(axis=0), 1.0)
            self.center_ = s.mean(axis=0)
            z = (s - self.center_) / self.scale_
            candidates = [self.n_regimes] if self.n_regimes else list(range(1, self.max_regimes + 1))
            sample = z if len(z) <= 20000 else z[np.random.default_rng(self.seed).choice(len(z), 20000, False)]
            base = float(((sample - sample.mean(axis=0)) ** 2).sum()) or 1.0
            # k-means on a few settings columns is a small job: one OpenMP thread; threads that spin-wait
            # on a busy machine made it many times slower (docs/performance.md). The fitted models keep
            # that thread count for predict (the regime of every row).
            with threadpool_limits(limits=1, user_api="openmp"):
                fits = [KMeans(n_clusters=k, n_init=3, random_state=self.seed).fit(sample) for k in candidates]
            chosen = fits[0]
            if not self.n_regimes and base > _EPS:
                # smallest k that explains the settings (inertia < tol of one cluster's) and whose
                # next split no longer pays (inertia falls by less than half): noise is not a regime.
                # The largest k tried has no next split to compare with: it is taken when it explains
                # the settings (max_regimes well separated conditions used to fall back to one regime)
                for k, km in enumerate(fits):
                    last = k == len(fits) - 1
                    if km.inertia_ / base < self.tol and (last or fits[k + 1].inertia_ > 0.5 * km.inertia_):
                        chosen = km
                        break
            self.kmeans_ = chosen
            self.n_regimes_ = int(chosen.n_clusters)
            labels = self._labels(data)
        else:
            self.n_regimes_ = 1
            labels = np.zeros(len(data), dtype=int)
        x = data[self.channels_].to_numpy(float)
        counts = np.bincount(labels, minlength=self.n_regimes_)
        self.mean_ = np.zeros((self.n_regimes_, len(self.channels_)))
        self.std_ = np.ones((self.n_regimes_, len(self.channels_)))
        for r in np.flatnonzero(counts).tolist():
            self.mean_[r] = x[labels == r].mean(axis=0)
        # a regime of one training row has no spread of its own: it gets the pooled within-regime std
        # (it used to keep mean 0 and std 1, so its rows came out as raw values, hundreds of "sigmas")
        several = counts[labels] > 1
        pooled = (x[several] - self.mean_[labels[several]]).std(axis=0) if several.any() else np.ones(x.shape[1])
        for r in range(self.n_regimes_):
            sd = x[labels == r].std(axis=0) if counts[r] > 1 else pooled
            self.std_[r] = np.where(sd > _EPS, sd, 1.0)
        return self

    def _labels(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.settings_ or self.n_regimes_ == 1:  # one cluster: every row is in it (no k-means call)
            return np.zeros(len(frame), dtype=int)
        z = (frame[self.settings_].to_numpy(float) - self.center_) / self.scale_
        return np.asarray(self.kmeans_.predict(z), dtype=int)

    def regimes(self, frame: pd.DataFrame) -> np.ndarray:
        """The regime of every row."""
        return self._labels(frame)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The channels z-scored by the regime of each row (same index)."""
        labels = self._labels(frame)
        x = frame[self.channels_].to_numpy(float)
        z = (x - self.mean_[labels]) / self.std_[labels]
        return pd.DataFrame(z, index=frame.index, columns=self.channels_)
