"""Probability calibration: temperature scaling and isotonic regression, fitted on held-out outputs.

Temperature scaling divides logits by one learned temperature chosen to minimise the negative
log-likelihood on held-out (out-of-fold) data (Guo, Pleiss, Sun & Weinberger 2017, "On
Calibration of Modern Neural Networks", ICML). Isotonic calibration fits one monotone map per
class (one-vs-rest) and renormalises (Zadrozny & Elkan 2002, KDD).

The measures of calibration live in :mod:`assetgrade.fusion.ece` (ECE, its bias-corrected
estimate, class-wise ECE) and :mod:`assetgrade.fusion.reliability` (the diagram), the input
checks in :mod:`assetgrade.fusion.inputs`; their names are importable from here as before.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from assetgrade.errors import ValidationError
from assetgrade.fusion.ece import (
    classwise_ece,
    confidence_bins,
    debiased_ece,
    ece_if_calibrated,
    expected_calibration_error,
    group_members,
)
from assetgrade.fusion.inputs import as_labels, as_proba
from assetgrade.fusion.reliability import reliability_diagram

__all__ = [
    "IsotonicCalibrator",
    "TemperatureScaler",
    "as_labels",
    "as_proba",
    "classwise_ece",
    "confidence_bins",
    "debiased_ece",
    "ece_if_calibrated",
    "expected_calibration_error",
    "group_members",
    "negative_log_likelihood",
    "reliability_diagram",
]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-12


def _as_logits(x: npt.ArrayLike, kind: Literal["auto", "proba", "logits"]) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValidationError(f"expected an (n, k) matrix, got shape {arr.shape}", where="scores")
    looks_proba = arr.size == 0 or bool(  # an empty batch: min() of nothing raised
        np.all(np.isfinite(arr)) and arr.min() >= 0 and arr.max() <= 1 and np.allclose(arr.sum(1), 1, atol=1e-4)
    )
    if kind == "proba" or (kind == "auto" and looks_proba):
        return np.log(np.clip(as_proba(arr), _EPS, 1.0))
    if not np.all(np.isfinite(arr)):
        raise ValidationError("logits hold NaN or inf", where="scores")
    return arr


def negative_log_likelihood(proba: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean negative log-likelihood of the true labels."""
    p = as_proba(proba)
    yy = as_labels(y, p.shape[1], rows=len(p))
    return float(-np.mean(np.log(np.clip(p[np.arange(len(yy)), yy], _EPS, 1.0))))


class TemperatureScaler:
    """One temperature for all classes, fitted by minimising the NLL (Guo et al. 2017).

    Accepts logits or probabilities (``input="auto"`` treats rows in [0, 1] summing to 1 as
    probabilities and takes their log). Fit it on held-out or out-of-fold outputs, never on the
    data the model was trained on.

    Attributes
    ----------
    temperature_ : float
        The fitted temperature (> 1 softens over-confident outputs).
    n_classes_ : int

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [4.0, 0.0]])
    >>> y = np.array([0, 1, 1, 0])
    >>> ts = TemperatureScaler().fit(logits, y)
    >>> bool(ts.temperature_ > 1.0)
    True
    >>> ts.transform(logits).shape
    (4, 2)
    """

    def __init__(
        self, *, input: Literal["auto", "proba", "logits"] = "auto", bounds: tuple[float, float] = (0.05, 20.0)
    ) -> None:
        self.input = input
        self.bounds = bounds

    def _check_settings(self) -> None:
        if self.input not in ("auto", "proba", "logits"):
            raise ValidationError(
                f"input={self.input!r}; allowed: 'auto', 'proba', 'logits'", where="TemperatureScaler"
            )
        lo, hi = self.bounds
        if not 0 < lo < hi < float("inf"):
            raise ValidationError(f"bounds={self.bounds} must be finite with 0 < lo < hi",
                                  where="TemperatureScaler.bounds")

    def fit(self, scores: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Learn the temperature on held-out scores and their true labels; returns self."""
        self._check_settings()
        z = _as_logits(scores, self.input)
        yy = as_labels(y, z.shape[1])
        if len(yy) != len(z):
            raise ValidationError(f"{len(z)} score rows but {len(yy)} labels", where="y")
        if len(yy) == 0:
            raise ValidationError("cannot fit on zero rows", where="TemperatureScaler.fit")
        rows = np.arange(len(yy))

        def nll(log_t: float) -> float:
            lp = log_softmax(z / np.exp(log_t), axis=1)
            return float(-lp[rows, yy].mean())

        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        res = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
        self.temperature_ = float(np.exp(res.x))
        self.n_classes_ = int(z.shape[1])
        self.nll_before_ = nll(0.0)
        self.nll_after_ = float(res.fun)
        return self

    def transform(self, scores: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities for logits or probabilities."""
        if not hasattr(self, "temperature_"):
            raise ValidationError("TemperatureScaler is not fitted; call fit first", where="TemperatureScaler")
        z = _as_logits(scores, self.input)
        if z.shape[1] != self.n_classes_:
            raise ValidationError(f"expected {self.n_classes_} columns, got {z.shape[1]}", where="scores")
        out: FloatArray = np.exp(log_softmax(z / self.temperature_, axis=1))
        return out

    def fit_transform(self, scores: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        """Fit and transform the same scores (for diagnostics only; fit on held-out data)."""
        return self.fit(scores, y).transform(scores)


class IsotonicCalibrator:
    """Isotonic calibration: one-vs-rest per class then renormalise, or on the top-label confidence.

    ``mode="ovr"`` fits ``P(y=k | p_k)`` for every class k with a monotone map and renormalises
    each row (Zadrozny & Elkan 2002). ``mode="top"`` maps only the top-label confidence to its
    accuracy and spreads the remaining mass over the other classes in proportion.

    Attributes
    ----------
    maps_ : list of sklearn IsotonicRegression
    n_classes_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet([1, 1, 1], size=200)
    >>> y = rng.integers(0, 3, size=200)
    >>> IsotonicCalibrator().fit(p, y).transform(p).sum(axis=1).round(6).min()
    np.float64(1.0)
    """

    def __init__(self, *, mode: Literal["ovr", "top"] = "ovr", floor: float = 1e-4) -> None:
        self.mode = mode
        self.floor = floor

    def fit(self, proba: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Learn the monotone maps on held-out probabilities; returns self."""
        from sklearn.isotonic import IsotonicRegression

        if self.mode not in ("ovr", "top"):
            raise ValidationError(f"mode={self.mode!r}; allowed: 'ovr', 'top'", where="IsotonicCalibrator")
        p = as_proba(proba)
        yy = as_labels(y, p.shape[1])
        if len(yy) != len(p):
            raise ValidationError(f"{len(p)} rows but {len(yy)} labels", where="y")
        if len(yy) == 0:
            raise ValidationError("cannot fit on zero rows", where="IsotonicCalibrator.fit")
        floor = self.floor
        if (isinstance(floor, bool) or not isinstance(floor, int | float | np.floating)
                or not 0 <= floor < 1.0 / p.shape[1]):
            # a floor of 1/k or more makes every calibrated row uniform; NaN made every row NaN
            raise ValidationError(f"floor={floor!r} must be a number in [0, 1/{p.shape[1]})",
                                  where="IsotonicCalibrator.floor")
        self.n_classes_ = int(p.shape[1])
        self.maps_: list[IsotonicRegression] = []
        if self.mode == "ovr":
            for k in range(self.n_classes_):
                iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                iso.fit(p[:, k], (yy == k).astype(np.float64))
                self.maps_.append(iso)
        else:
            top = p.argmax(axis=1)
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(p.max(axis=1), (top == yy).astype(np.float64))
            self.maps_.append(iso)
        return self

    def transform(self, proba: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities (rows sum to 1; every class keeps at least ``floor`` before renormalising).

        A row that every map sends to 0 (only possible with ``floor=0``) is uniform.
        """
        if not hasattr(self, "maps_"):
            raise ValidationError("IsotonicCalibrator is not fitted; call fit first", where="IsotonicCalibrator")
        p = as_proba(proba)
        if p.shape[1] != self.n_classes_:
            raise ValidationError(f"expected {self.n_classes_} columns, got {p.shape[1]}", where="proba")
        if len(p) == 0:  # scikit-learn's maps refuse an empty batch
            return np.zeros((0, self.n_classes_))
        if self.mode == "ovr":
            q = np.column_stack([m.predict(p[:, k]) for k, m in enumerate(self.maps_)])
        else:
            top = p.argmax(axis=1)
            conf = np.clip(self.maps_[0].predict(p.max(axis=1)), 1.0 / self.n_classes_, 1.0)
            rest = p.copy()
            rest[np.arange(len(p)), top] = 0.0
            rs = rest.sum(axis=1, keepdims=True)
            share = np.where(rs > 0, rest / np.where(rs > 0, rs, 1.0), 1.0 / (self.n_classes_ - 1))
            q = share * (1.0 - conf)[:, None]
            q[np.arange(len(p)), top] = conf
        q = np.maximum(q, self.floor)
        # with floor=0 every one-vs-rest map can send a row to 0 (no calibration point of any
        # grade as low as its reading): 0 / 0 gave a NaN row. Such a row says nothing, so it
        # becomes uniform, as scikit-learn's CalibratedClassifierCV does with the same sums.
        total = q.sum(axis=1, keepdims=True)
        out: FloatArray = np.divide(q, total, out=np.full_like(q, 1.0 / self.n_classes_), where=total > 0)
        return out
