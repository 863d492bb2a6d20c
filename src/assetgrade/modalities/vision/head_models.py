"""The vision heads on backbone features: a defect-type probe, a multi-label probe, and an ordinal grade head.

The ordinal head is a cumulative-link (proportional-odds) model, P(y <= k | x) = sigma(theta_k - w.x)
with ordered thresholds (P. McCullagh, "Regression models for ordinal data", JRSS B 42, 1980),
fitted with the convex all-threshold logistic loss of J. D. M. Rennie and N. Srebro, "Loss
functions for preference levels: regression with discrete ordered labels", IJCAI workshop 2005.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from assetgrade.blas import serial_blas
from assetgrade.errors import ValidationError

__all__ = ["LinearProbe", "MultiLabelProbe", "OrdinalLogistic", "Standardiser"]

FloatArray = npt.NDArray[np.float64]


class Standardiser:
    """Column z-scores learned on the training features (NaN-free input required)."""

    def fit(self, X: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None) -> Self:
        A = _check_x(X)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.mean_ = np.average(A, axis=0, weights=w)
        sd = np.sqrt(np.average((A - self.mean_) ** 2, axis=0, weights=w))
        self.scale_ = np.where(sd > 1e-8, sd, 1.0)
        return self

    def transform(self, X: npt.ArrayLike) -> FloatArray:
        return (_check_x(X) - self.mean_) / self.scale_  # type: ignore[no-any-return]


def _check_x(X: npt.ArrayLike) -> FloatArray:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2:
        raise ValidationError(f"features must be 2-D, got shape {A.shape}", where="head")
    if not np.isfinite(A).all():
        bad = np.where(~np.isfinite(A).all(axis=1))[0][:5].tolist()
        raise ValidationError(f"features contain NaN/inf in rows {bad}", where="head")
    return A


def _check_y(y: Sequence[int] | npt.ArrayLike, n_classes: int | None = None) -> npt.NDArray[np.int64]:
    v = np.asarray(y)
    if v.ndim != 1 or not np.issubdtype(v.dtype, np.integer):
        raise ValidationError("labels must be a 1-D array of class indices", where="head")
    if n_classes is not None and (v.min() < 0 or v.max() >= n_classes):
        raise ValidationError(f"labels must lie in 0..{n_classes - 1}", where="head")
    return v.astype(np.int64)


class LinearProbe:
    """Multinomial logistic regression on standardised features (multi-class defect type).

    ``coef_`` and ``intercept_`` are expressed on the *raw* features, so a class-activation map
    is ``sum_c coef_[k, c] * map_c(x, y)`` (Zhou et al., "Learning deep features for
    discriminative localization", CVPR 2016).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-2, 1, (20, 3)), rng.normal(2, 1, (20, 3))]
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> LinearProbe(n_classes=2).fit(X, y).predict_proba(X).shape
    (40, 2)
    """

    def __init__(self, *, n_classes: int, C: float = 0.5, max_iter: int = 1000) -> None:
        self.n_classes = n_classes
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: npt.ArrayLike, y: Sequence[int] | npt.ArrayLike, sample_weight: Any = None) -> Self:
        from sklearn.linear_model import LogisticRegression

        yv = _check_y(y, self.n_classes)
        self.scaler_ = Standardiser().fit(X, sample_weight)
        Z = self.scaler_.transform(X).astype(np.float32)
        self.present_ = np.unique(yv)
        if len(self.present_) < 2:
            raise ValidationError("need at least two classes in the training labels", where="head")
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
        with serial_blas():
            clf.fit(Z, yv, sample_weight=sample_weight)
        self.model_ = clf
        W = np.zeros((self.n_classes, Z.shape[1]))
        b = np.full(self.n_classes, -30.0)
        coef = clf.coef_ if len(self.present_) > 2 else np.r_[-clf.coef_ / 2, clf.coef_ / 2]
        icpt = clf.intercept_ if len(self.present_) > 2 else np.r_[-clf.intercept_ / 2, clf.intercept_ / 2]
        W[self.present_] = coef / self.scaler_.scale_
        b[self.present_] = icpt - (coef * self.scaler_.mean_ / self.scaler_.scale_).sum(axis=1)
        self.coef_ = W
        self.intercept_ = b
        return self

    def decision_function(self, X: npt.ArrayLike) -> FloatArray:
        A = _check_x(X)
        with serial_blas():  # as in fit: the same rounding whatever the machine or another thread does
            return A @ self.coef_.T + self.intercept_  # type: ignore[no-any-return]

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        s = self.decision_function(X)
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)  # type: ignore[no-any-return]

    def severity_direction(self) -> FloatArray:
        """Weights on raw features along which the level rises: the class scores' linear contrast
        sum_k (k - (K-1)/2) coef_k (a class-activation map of "worse rather than better")."""
        centred = np.arange(self.n_classes, dtype=np.float64) - (self.n_classes - 1) / 2.0
        return np.asarray(centred @ self.coef_, dtype=np.float64)


class MultiLabelProbe:
    """One-vs-rest logistic regressions for images that carry several defects at once.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)); Y = np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int)
    >>> MultiLabelProbe().fit(X, Y).predict_proba(X).shape
    (60, 2)
    """

    def __init__(self, *, C: float = 0.5, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> Self:
        from sklearn.linear_model import LogisticRegression

        Ym = np.asarray(Y)
        if Ym.ndim != 2:
            raise ValidationError("multi-label targets must be an (n, n_labels) 0/1 matrix", where="head")
        self.scaler_ = Standardiser().fit(X)
        Z = self.scaler_.transform(X)
        self.models_: list[Any] = []
        for j in range(Ym.shape[1]):
            col = Ym[:, j].astype(int)
            if col.min() == col.max():
                self.models_.append(float(col[0]))  # constant label: its prior
            else:
                with serial_blas():
                    self.models_.append(LogisticRegression(C=self.C, max_iter=self.max_iter).fit(Z, col))
        return self

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        Z = self.scaler_.transform(X)
        with serial_blas():
            cols = [np.full(len(Z), m) if isinstance(m, float) else m.predict_proba(Z)[:, 1] for m in self.models_]
        return np.stack(cols, axis=1)


class OrdinalLogistic:
    """Cumulative-link ordinal logistic regression: one weight vector, ordered thresholds.

    P(y <= k | x) = sigma(theta_k - w.x), theta_0 < theta_1 < ... (McCullagh 1980); fitted with
    the all-threshold loss sum_k log(1 + exp(-s_ik (theta_k - w.x_i))), s_ik = +1 if y_i <= k
    else -1 (Rennie & Srebro 2005), plus an L2 penalty ||w||^2 / (2 C). Thresholds are
    parametrised as theta_0 + cumulative sums of exp(.) so they stay ordered and the class
    probabilities P(y = k) = P(y <= k) - P(y <= k - 1) are never negative.

    Examples
    --------
    >>> x = np.linspace(-3, 3, 90)[:, None]; y = np.digitize(x[:, 0], [-1, 1])
    >>> m = OrdinalLogistic(n_classes=3).fit(x, y)
    >>> bool(np.all(np.diff(m.thresholds_) > 0)), m.predict(np.array([[-3.0], [0.0], [3.0]])).tolist()
    (True, [0, 1, 2])
    """

    def __init__(self, *, n_classes: int, C: float = 0.5, max_iter: int = 500) -> None:
        if n_classes < 2:
            raise ValidationError("an ordinal head needs at least 2 levels", where="head")
        self.n_classes = n_classes
        self.C = C
        self.max_iter = max_iter

    def fit(
        self,
        X: npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        *,
        warm_start: FloatArray | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> Self:
        """Fit; ``warm_start`` is another fit's ``params_`` on features of the same width (fewer iterations);
        ``sample_weight`` weighs each row's loss (soft labels: one row per candidate level)."""
        yv = _check_y(y, self.n_classes)
        n = len(yv)
        if sample_weight is None:
            sw = np.ones(n)
        else:
            sw = np.asarray(sample_weight, dtype=np.float64).ravel()
            if sw.shape != (n,) or not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
                raise ValidationError(f"sample_weight needs {n} finite non-negative values, not all zero",
                                      where="OrdinalLogistic.fit")
        self.scaler_ = Standardiser().fit(X, None if sample_weight is None else sw)
        Z = self.scaler_.transform(X)
        n, d = Z.shape
        wsum = float(sw.sum())
        K = self.n_classes - 1
        S = np.where(yv[:, None] <= np.arange(K)[None, :], 1.0, -1.0)  # (n, K)
        lam = 1.0 / self.C

        def unpack(p: FloatArray) -> tuple[FloatArray, FloatArray]:
            w = p[:d]
            theta = p[d] + np.r_[0.0, np.cumsum(np.exp(p[d + 1 :]))]
            return w, theta

        def objective(p: FloatArray) -> tuple[float, FloatArray]:
            w, theta = unpack(p)
            a = theta[None, :] - (Z @ w)[:, None]  # (n, K)
            m = S * a
            loss = float(sw @ np.logaddexp(0.0, -m).sum(axis=1)) + 0.5 * lam * float(w @ w)
            g_a = -S * expit(-m) * sw[:, None]  # d loss / d a
            g_w = -(Z.T @ g_a.sum(axis=1)) + lam * w
            g_theta = g_a.sum(axis=0)  # (K,)
            g_t0 = g_theta.sum()
            # theta_k = t0 + sum_{j<k} exp(delta_j): d theta_k / d delta_j = exp(delta_j) for k > j
            tail = np.cumsum(g_theta[::-1])[::-1][1:]
            g_delta = tail * np.exp(p[d + 1 :])
            return float(loss) / wsum, np.r_[g_w, g_t0, g_delta] / wsum

        counts = np.bincount(yv, weights=sw, minlength=self.n_classes)
        prior = np.clip(counts.cumsum()[:-1] / wsum, 1e-3, 1 - 1e-3)
        t_init = np.log(prior / (1 - prior))
        t_init = np.maximum.accumulate(t_init + np.arange(K) * 1e-3)
        p0 = np.r_[np.zeros(d), t_init[0], np.log(np.maximum(np.diff(t_init), 1e-3))]
        if warm_start is not None and warm_start.shape == p0.shape and np.isfinite(warm_start).all():
            p0 = np.asarray(warm_start, dtype=np.float64).copy()
        with serial_blas():
            res = minimize(objective, p0, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter})
        w, theta = unpack(res.x)
        self.w_ = w
        self.thresholds_ = theta
        self.params_ = np.asarray(res.x, dtype=np.float64)
        self.converged_ = bool(res.success)
        # on raw features: a_k = theta_k - (x - mu)/s . w
        self.coef_ = w / self.scaler_.scale_
        self.offset_ = float((self.scaler_.mean_ / self.scaler_.scale_) @ w)
        return self

    def severity_direction(self) -> FloatArray:
        """Weights on raw features along which the level rises: the latent severity's ``coef_``."""
        return np.asarray(self.coef_, dtype=np.float64)

    def latent(self, X: npt.ArrayLike) -> FloatArray:
        """The latent severity w.x (higher = worse level), on standardised features."""
        Z = self.scaler_.transform(X)
        with serial_blas():
            return Z @ self.w_  # type: ignore[no-any-return]

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        z = self.latent(X)
        cum = expit(self.thresholds_[None, :] - z[:, None])
        cum = np.c_[np.zeros(len(z)), cum, np.ones(len(z))]
        return np.clip(np.diff(cum, axis=1), 0.0, 1.0)  # type: ignore[no-any-return]

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)  # type: ignore[no-any-return]
