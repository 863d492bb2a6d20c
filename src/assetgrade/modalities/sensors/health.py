"""Health index and remaining useful life (RUL) with an interval, learned from run-to-failure histories.

* Target: the RUL at every cycle of every training history, capped at ``cap`` (125 cycles for
  C-MAPSS, the piece-wise linear target of Heimes 2008, PHM 2008): every truncation point of a
  history is one training row, so the model sees histories cut anywhere, as live assets are.
* Health index: a linear map (ridge regression) from the regime-normalised channels to
  ``min(RUL, cap) / cap`` -- 1 healthy, 0 failed -- used as one more channel.
* Point RUL: LightGBM (Ke et al. 2017, NeurIPS) on window features (:mod:`.features`) of the
  channels and the health index, plus the current cycle count.
* Interval: conformalised quantile regression (Romano, Patterson & Candès 2019, NeurIPS, "CQR"):
  LightGBM quantile models for the lower and upper quantiles are trained on all but one fold of
  the training units and their interval is widened (or narrowed) by the conformal correction
  computed on the held-out fold (cross-conformal, Vovk 2015, Ann. Math. Artif. Intell. 74), so the
  interval reaches its nominal coverage on exchangeable new units. The
  correction is computed per bin of the predicted RUL (a Mondrian conformal predictor, Vovk,
  Gammerman & Shafer 2005, "Algorithmic Learning in a Random World", ch. 4): calibration rows
  from every cycle of a history are mostly early, easy ones at the cap, while live assets are
  cut anywhere, so one pooled correction under-covers the late, hard cases.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from assetgrade.errors import ValidationError
from assetgrade.modalities.sensors.features import RegimeNormalizer, check_slope_windows, rolling_features
from assetgrade.modalities.sensors.timing import row_time
from assetgrade.modalities.sensors.validate import check_series
from assetgrade.seeds import SEED_MAX

__all__ = [
    "HEALTH_CHANNEL",
    "MIN_HISTORIES",
    "MIN_HISTORY_LENGTH",
    "RulModel",
    "RulPrediction",
    "conformal_correction",
    "majority_columns",
    "rul_targets",
]

HEALTH_CHANNEL = "health_index"
MIN_HISTORIES = 4
"""Histories :meth:`RulModel.fit` needs at least."""
MIN_HISTORY_LENGTH = 2
"""Rows a history needs at least."""
_TIME_COLUMN_NAMES = frozenset({"time", "t", "cycle", "cycles", "time_cycles", "timestamp", "datetime", "date"})
"""Column names that mean the time axis (as ingest guesses it); in a history they belong in the index."""


def majority_columns(columns: Sequence[Collection[str]]) -> tuple[list[str], list[str]]:
    """Columns present in more than half of the histories, and the others (in order of first appearance).

    The kept columns come in the order of the first history that has them all.

    ``columns`` holds each history's column names. Which columns are kept does not depend on the
    histories' order (nor on which file sorts first): a column one history lacks is kept when
    most have it (that history is then the odd one), and one that few histories have is dropped.

    Examples
    --------
    >>> majority_columns([["s1", "s2"], ["s1"], ["s1", "s2", "extra"]])
    (['s1', 's2'], ['extra'])
    """
    counts: dict[str, int] = {}
    for cols in columns:
        for c in dict.fromkeys(cols):
            counts[c] = counts.get(c, 0) + 1
    kept = [c for c, n in counts.items() if 2 * n > len(columns)]
    full = next((cols for cols in columns if set(kept) <= set(cols)), kept)
    kept = [c for c in dict.fromkeys(full) if c in kept]
    return kept, [c for c in counts if c not in kept]


def rul_targets(n: int, cap: float, end: float = 0.0) -> np.ndarray:
    """Capped RUL at each of ``n`` cycles of a history whose last cycle has ``end`` cycles of life left.

    ``end = 0`` is a run to failure; ``end > 0`` a history whose recording stopped before the
    failure, when the failure was logged later (a C-MAPSS test unit with its true RUL).

    Examples
    --------
    >>> rul_targets(4, cap=2.0).tolist()
    [2.0, 2.0, 1.0, 0.0]
    >>> rul_targets(3, cap=10.0, end=5.0).tolist()
    [7.0, 6.0, 5.0]
    """
    return np.asarray(np.minimum(np.arange(n - 1, -1, -1, dtype=float) + end, cap), dtype=float)


def conformal_correction(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, coverage: float, weight: np.ndarray | None = None
) -> float:
    """CQR's correction: the finite-sample ``coverage`` quantile of the scores max(lo − y, y − hi).

    Unweighted, it is the ⌈(n + 1)·coverage⌉-th smallest of the n scores (Romano, Patterson &
    Candès 2019, Theorem 1; the largest score when that rank exceeds n). With ``weight`` the
    quantile is weighted and the finite-sample level uses the effective number of rows (Kish):
    (sum w)² / sum w²; equal weights give the same score as no weights.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.arange(10.0)
    >>> conformal_correction(y, y - 1, y + 1, 0.9)
    -1.0
    """
    scores = np.maximum(lo - y, y - hi)
    n = len(scores)
    if n == 0:
        raise ValidationError("no calibration rows", where="conformal_correction")
    if weight is None:  # np.quantile(..., method="higher") at rank/n read one order statistic too high
        rank = int(np.ceil((n + 1) * coverage - 1e-9))
        return float(np.sort(scores)[min(n, max(rank, 1)) - 1])
    w = np.asarray(weight, dtype=float)
    n_eff = float(w.sum() ** 2 / np.sum(w * w))
    level = min(1.0, coverage * (1.0 + 1.0 / n_eff))
    order = np.argsort(scores, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(scores[order][min(n - 1, int(np.searchsorted(cum, level - 1e-12)))])


@dataclass(frozen=True)
class RulPrediction:
    """RUL point, interval and health index at the last cycle of each history."""

    rul: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    health_index: np.ndarray
    coverage: float


class RulModel:
    """Remaining useful life with a conformal interval, trained on run-to-failure histories.

    Parameters
    ----------
    cap
        RUL cap of the target (cycles).
    coverage
        Nominal coverage of the interval.
    settings
        Operating-setting columns to cluster into regimes; ``None`` takes columns whose name starts
        with ``setting``.
    channels
        Sensor channels; ``None`` takes every other numeric column, less those constant in training.
    window, slope_windows
        Window lengths of the features (cycles/rows).
    n_estimators, learning_rate, num_leaves
        LightGBM settings of the point and quantile models.
    n_bins
        Calibration bins of the interval midpoint (Mondrian conformal: one correction per bin; at
        least 10 histories per bin).
    n_folds
        Folds of histories for cross-conformal calibration (each fold's quantile models are
        trained on the others; the final interval averages the fold models).
    n_jobs
        LightGBM threads; 1 by default because OpenMP threads that spin-wait on a shared, busy
        machine were measured 6x slower than one thread.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def run(n):
    ...     return pd.DataFrame({"s": np.exp(np.arange(n) / n * 3) + rng.normal(0, 0.1, n)})
    >>> hs = [run(n) for n in rng.integers(40, 80, 20)]
    >>> m = RulModel(cap=30, n_estimators=30, window=5, slope_windows=(5,)).fit(hs)
    >>> p = m.predict([h.iloc[:-10] for h in hs[:3]])
    >>> bool(np.all(p.lower <= p.upper))
    True
    """

    def __init__(
        self,
        *,
        cap: float = 125.0,
        coverage: float = 0.9,
        settings: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
        n_regimes: int | None = None,
        window: int = 30,
        slope_windows: Sequence[int] = (10, 30),
        full_stats: bool = False,
        n_estimators: int = 600,
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        n_bins: int = 5,
        n_folds: int = 4,
        seed: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.cap = cap
        self.coverage = coverage
        self.settings = settings
        self.channels = channels
        self.n_regimes = n_regimes
        self.window = window
        self.slope_windows = slope_windows  # as given until checked: a bare 10 or a text "10" is named as sent
        self.full_stats = full_stats
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_bins = n_bins
        self.n_folds = n_folds
        self.seed = seed
        self.n_jobs = n_jobs
        self._check_settings()
        self.slope_windows = tuple(slope_windows)

    def _check_settings(self) -> None:
        """Every setting of the right type and range (a workspace's ``rul_settings`` come from YAML: a quoted
        ``"30"`` window or the text ``"true"`` went on unchecked, and any non-empty text counted as true)."""
        def fail(name: str, allowed: str) -> ValidationError:
            return ValidationError(f"{name}={getattr(self, name)!r}; allowed: {allowed}", where=f"RulModel.{name}")

        def integer(v: object) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)

        def real(v: object) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) and math.isfinite(float(v))

        def names(v: object) -> bool:
            return v is None or (isinstance(v, Sequence) and not isinstance(v, str)
                                 and all(isinstance(x, str) and x for x in v))

        if not (real(self.cap) and float(self.cap) > 0):
            raise fail("cap", "a finite number > 0")
        if not (real(self.coverage) and 0 < float(self.coverage) < 1):
            raise fail("coverage", "a number in (0, 1)")
        if not (real(self.learning_rate) and float(self.learning_rate) > 0):
            raise fail("learning_rate", "a finite number > 0")
        for name, low in (("window", 1), ("n_estimators", 1), ("num_leaves", 2), ("n_bins", 1), ("n_folds", 2),
                          ("seed", 0)):
            if not (integer(getattr(self, name)) and int(getattr(self, name)) >= low):
                raise fail(name, f"a whole number >= {low}")
        if int(self.seed) > SEED_MAX:
            raise fail("seed", f"a whole number in [0, {SEED_MAX}]")
        if not (integer(self.n_jobs) and (int(self.n_jobs) >= 1 or int(self.n_jobs) == -1)):
            raise fail("n_jobs", "a whole number >= 1, or -1 for every core")
        if not (self.n_regimes is None or (integer(self.n_regimes) and int(self.n_regimes) >= 1)):
            raise fail("n_regimes", "a whole number >= 1, or none to find them")
        check_slope_windows(self.slope_windows, "RulModel")  # the extractor's rule: one row has no slope
        if not isinstance(self.full_stats, bool | np.bool_):
            raise fail("full_stats", "true or false")
        for name in ("settings", "channels"):
            if not names(getattr(self, name)):
                raise fail(name, "a list of column names, or none")

    # -- features -------------------------------------------------------------------------------
    def _checked(self, frame: pd.DataFrame, name: str, channels: Sequence[str]) -> pd.DataFrame:
        need = [*self.settings_, *channels] if hasattr(self, "settings_") else list(channels)
        return check_series(frame, evidence_id=name, channels=need, min_length=MIN_HISTORY_LENGTH).frame

    def required_columns(self) -> list[str]:
        """The columns a history needs: operating settings, then the sensor channels (fitted model)."""
        return [*self.settings_, *self.channels_]

    def features(self, frame: pd.DataFrame, name: str = "series", *, checked: bool = False,
                 last_only: bool = False) -> pd.DataFrame:
        """The model's feature rows at every cycle of one history (validated, normalised).

        ``checked=True`` skips the series checks for a frame that already passed
        :func:`~assetgrade.modalities.sensors.validate.check_series` on at least
        :meth:`required_columns` (the sensors extractor's own check, so it is not done twice).
        ``last_only=True`` computes the last cycle's row alone (a live asset's reading).
        """
        f = frame if checked else self._checked(frame, name, self.channels_)
        z = self.normalizer_.transform(f)
        z[HEALTH_CHANNEL] = self._hi(z)
        feats = rolling_features(z, window=self.window, slope_windows=self.slope_windows, full_stats=self.full_stats,
                                 last_only=last_only)
        feats["cycles"] = np.arange(len(z) - len(feats) + 1, len(z) + 1, dtype=float)
        return feats

    def _hi(self, z: pd.DataFrame) -> np.ndarray:
        x = z[self.channels_].to_numpy(float)
        return np.asarray(x @ self.hi_coef_ + self.hi_intercept_, dtype=float)

    # -- fitting --------------------------------------------------------------------------------
    def _lgbm(self, **kw: Any) -> Any:
        from lightgbm import LGBMRegressor

        return LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=20,
            max_bin=63,
            subsample=0.7,
            subsample_freq=1,
            colsample_bytree=0.7,
            random_state=self.seed,
            n_jobs=self.n_jobs,
            verbose=-1,
            **kw,
        )

    def fit(
        self,
        histories: Sequence[pd.DataFrame],
        *,
        end_rul: Sequence[float] | None = None,
        names: Sequence[str] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Self:
        """Learn from histories with known remaining life at every cycle.

        By default each history is a complete run to failure (it ends at failure). ``end_rul``
        gives, per history, the cycles of life left after its last row, for histories whose
        recording stopped before a failure that was logged later; 0 is a run to failure.
        ``names`` (file names...) are used in messages instead of ``history <k>``.

        Without ``settings``/``channels``, the model uses the columns present in more than half
        of the histories (:func:`majority_columns`), whatever their order; the others are
        listed in ``dropped_channels_``.

        Raises
        ------
        ValidationError
            Fewer than 4 histories, ``end_rul`` of the wrong length or with a negative or
            non-finite value (named by index), or a history that fails the series checks on
            those columns (named).
        """
        from sklearn.linear_model import Ridge

        if len(histories) < MIN_HISTORIES:
            raise ValidationError(f"need at least {MIN_HISTORIES} run-to-failure histories, got {len(histories)}",
                                  where="fit_rul")
        labels = [f"history {k}" for k in range(len(histories))] if names is None else [str(n) for n in names]
        if len(labels) != len(histories):
            raise ValidationError(f"{len(labels)} names for {len(histories)} histories", where="names")
        ends = np.zeros(len(histories)) if end_rul is None else np.asarray(list(end_rul), dtype=float)
        if ends.shape != (len(histories),):
            raise ValidationError(f"end_rul has {ends.size} values for {len(histories)} histories", where="end_rul")
        bad = np.flatnonzero(~np.isfinite(ends) | (ends < 0))
        if bad.size:
            raise ValidationError(f"remaining life {ends[bad[0]]} must be finite and >= 0",
                                  where=f"end_rul[{int(bad[0])}]")
        for h, n in zip(histories, labels, strict=True):  # time read as a channel would never match a series
            if isinstance(h, pd.DataFrame) and isinstance(h.index, pd.RangeIndex):
                timeish = [str(c) for c in h.columns if str(c).strip().lower() in _TIME_COLUMN_NAMES]
                if timeish:
                    raise ValidationError(
                        f"{n}: column {timeish[0]!r} looks like the time axis but the index is a plain row number; "
                        f"set it as the index (frame.set_index({timeish[0]!r})), as ingested series have it, or "
                        "it becomes a sensor channel no workspace series has", where="fit_rul")
        present, absent = majority_columns(
            [[str(c) for c in h.columns] if isinstance(h, pd.DataFrame) else [] for h in histories]
        )
        settings = (
            list(self.settings)
            if self.settings is not None
            else [c for c in present if c.lower().startswith("setting")]
        )
        cands = list(self.channels) if self.channels is not None else [c for c in present if c not in settings]
        if not cands:
            raise ValidationError(f"no sensor channel in more than half of the histories (columns: {present})",
                                  where="fit_rul")
        checked = [
            check_series(h, evidence_id=n, channels=[*settings, *cands], min_length=MIN_HISTORY_LENGTH).frame
            for h, n in zip(histories, labels, strict=True)
        ]
        self.settings_ = settings
        nz = RegimeNormalizer(n_regimes=self.n_regimes, seed=self.seed).fit(checked, settings=settings, channels=cands)
        allz = pd.concat([nz.transform(f) for f in checked], ignore_index=True)
        keep = [c for c in cands if float(allz[c].std()) > 1e-6 and allz[c].nunique() > 2]
        if not keep:
            raise ValidationError("every channel is constant within its regime", where="fit_rul")
        self.channels_ = keep
        unused = [] if self.channels is not None else [c for c in absent if c not in settings]
        self.dropped_channels_ = [*unused, *(c for c in cands if c not in keep)]
        self.normalizer_ = RegimeNormalizer(n_regimes=nz.n_regimes_, seed=self.seed).fit(
            checked, settings=settings, channels=keep
        )
        if progress:
            progress(f"{self.normalizer_.n_regimes_} regime(s), {len(keep)} channel(s)")
        zs = [self.normalizer_.transform(f) for f in checked]
        ys = [rul_targets(len(f), self.cap, float(e)) for f, e in zip(checked, ends, strict=True)]
        ridge = Ridge(alpha=1.0).fit(pd.concat(zs).to_numpy(float), np.concatenate(ys) / self.cap)
        self.hi_coef_ = np.asarray(ridge.coef_, dtype=float)
        self.hi_intercept_ = float(ridge.intercept_)
        feats = [self.features(f, n) for f, n in zip(checked, labels, strict=True)]
        self.feature_names_ = list(feats[0].columns)
        X = np.vstack([f.to_numpy(float) for f in feats])
        y = np.concatenate(ys)
        unit = np.concatenate([np.full(len(f), k) for k, f in enumerate(feats)])
        if progress:
            progress(f"point model on {len(y)} rows x {X.shape[1]} features")
        self.point_ = self._lgbm().fit(X, y)
        self._calibrate(X, y, unit, len(feats), progress)
        digest = hashlib.sha256(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(y).tobytes())
        self.fingerprint_ = digest.hexdigest()[:12]
        self.n_histories_ = len(feats)
        # what one row meant (RUL counts rows), read from the time axes as given; None without one
        self.row_time_ = row_time([h for h in histories if isinstance(h, pd.DataFrame)])
        return self

    def __repr__(self) -> str:
        """Settings and, once fitted, the training data's fingerprint: the same on every run (model versions use it)."""
        body = f"cap={self.cap}, coverage={self.coverage}, window={self.window}, seed={self.seed}"
        if hasattr(self, "fingerprint_"):
            body += f", histories={self.n_histories_}, fingerprint={self.fingerprint_}"
        return f"RulModel({body})"

    def _calibrate(
        self, X: np.ndarray, y: np.ndarray, unit: np.ndarray, n_units: int, progress: Callable[[str], None] | None
    ) -> None:
        """Cross-conformal CQR: quantile models per fold of units, corrections from out-of-fold rows.

        Each row is weighted 1 / (cycles of its history), so every held-out history counts once, as a
        live asset cut at a random cycle does; corrections are computed per bin of the interval's
        midpoint (Mondrian), since early capped rows are easy and late rows hard.
        """
        alpha = 1.0 - self.coverage
        k = max(2, min(self.n_folds, n_units))
        fold_of_unit = np.random.default_rng(self.seed).permutation(n_units) % k
        fold = fold_of_unit[unit]
        lo, hi = np.empty(len(y)), np.empty(len(y))
        self.q_models_: list[tuple[Any, Any]] = []
        for f in range(k):
            if progress:
                progress(f"quantile models, fold {f + 1}/{k}")
            tr = fold != f
            q_lo = self._lgbm(objective="quantile", alpha=alpha / 2).fit(X[tr], y[tr])
            q_hi = self._lgbm(objective="quantile", alpha=1 - alpha / 2).fit(X[tr], y[tr])
            lo[~tr], hi[~tr] = q_lo.predict(X[~tr]), q_hi.predict(X[~tr])
            self.q_models_.append((q_lo, q_hi))
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        weight = 1.0 / np.bincount(unit)[unit]
        mid = (lo + hi) / 2.0
        n_bins = max(1, min(self.n_bins, n_units // 10))
        self.bin_edges_ = np.quantile(mid, np.linspace(0, 1, n_bins + 1)[1:-1])
        bins = np.searchsorted(self.bin_edges_, mid, side="right")
        self.bin_corrections_ = np.array(
            [
                conformal_correction(y[bins == b], lo[bins == b], hi[bins == b], self.coverage, weight[bins == b])
                for b in range(n_bins)
            ]
        )
        self.correction_ = conformal_correction(y, lo, hi, self.coverage, weight)
        self.n_calibration_rows_ = len(y)

    def _interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.mean([m[0].predict(X) for m in self.q_models_], axis=0)
        hi = np.mean([m[1].predict(X) for m in self.q_models_], axis=0)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        corr = self.bin_corrections_[np.searchsorted(self.bin_edges_, (lo + hi) / 2.0, side="right")]
        return np.clip(lo - corr, 0.0, self.cap), np.clip(hi + corr, 0.0, self.cap)

    # -- prediction -----------------------------------------------------------------------------
    def last_features(self, histories: Sequence[pd.DataFrame], names: Sequence[str] | None = None) -> np.ndarray:
        """Feature row at the last cycle of each history."""
        names = names or [f"history {k}" for k in range(len(histories))]
        return np.vstack([self.features(h, n, last_only=True).to_numpy(float)[-1]
                          for h, n in zip(histories, names, strict=True)])

    def predict(self, histories: Sequence[pd.DataFrame], names: Sequence[str] | None = None) -> RulPrediction:
        """RUL point, interval and health index at the last cycle of each (possibly live) history."""
        if not hasattr(self, "point_"):
            raise ValidationError("RulModel is not fitted: call fit(histories) first", where="RulModel")
        X = self.last_features(histories, names)
        return self.predict_features(X)

    def predict_features(self, X: np.ndarray) -> RulPrediction:
        """As :meth:`predict`, from feature rows already computed."""
        point = np.clip(self.point_.predict(X), 0.0, self.cap)
        lower, upper = self._interval(X)
        hcol = self.feature_names_.index(f"{HEALTH_CHANNEL}__last")
        hi_now = np.clip(X[:, hcol], 0.0, 1.0)
        return RulPrediction(point, np.minimum(lower, point), np.maximum(upper, point), hi_now, self.coverage)
