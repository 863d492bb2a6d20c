"""Heads on backbone features: a multi-class defect-type probe, a multi-label probe, and an ordinal grade head.

The ordinal head is a cumulative-link (proportional-odds) model, P(y <= k | x) = sigma(theta_k - w.x)
with ordered thresholds (P. McCullagh, "Regression models for ordinal data", JRSS B 42, 1980),
fitted with the convex all-threshold logistic loss of J. D. M. Rennie and N. Srebro, "Loss
functions for preference levels: regression with discrete ordered labels", IJCAI workshop 2005.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from assetgrade.errors import ValidationError
from assetgrade.modalities.penalty import penalty_folds

__all__ = [
    "C_GRID", "HeadChoice", "LinearProbe", "MultiLabelProbe", "OrdinalLogistic", "Standardiser", "select_head",
    "select_ordinal_penalty", "select_penalty", "serial_blas",
]

C_GRID: tuple[float, ...] = (0.001, 0.003, 0.02, 0.1)
"""Default L2 strengths tried by :func:`select_ordinal_penalty` (inverse: smaller is stronger)."""

FloatArray = npt.NDArray[np.float64]


@functools.cache
def _blas_controller() -> Any:
    """The process's threadpoolctl controller (finding the loaded BLAS libraries once)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _release_blas_control() -> None:
    """Let the calling thread set OpenBLAS's thread count (threadpoolctl >= 3.8 otherwise lets only one thread do it).

    threadpoolctl gives a pthreads OpenBLAS's process-wide limit to the first Python thread
    that sets it, for as long as that thread lives, and ignores the others; :class:`_SharedBlasLimit`
    already coordinates the threads, so it releases that control before it sets or restores.
    """
    for lib in _blas_controller().lib_controllers:
        release = getattr(type(lib), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)


class _SharedBlasLimit:
    """One process-wide "BLAS on one thread" limit shared by every thread inside :func:`serial_blas`.

    The first thread in sets the limit and the last one out restores the original thread
    counts; the lock is held only while the count changes, so threads inside run at the same
    time (each on one BLAS thread) and none restores the default while another is inside. This
    is right for a BLAS whose limit is process-wide, as the pthreads OpenBLAS in pip's numpy and
    scipy; where the limit is per thread (OpenBLAS built with OpenMP, MKL) only the first thread
    in is limited and the others run with the default while it is inside (slower at worst).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                _release_blas_control()
                self._limiter = _blas_controller().limit(limits=1, user_api="blas")
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                _release_blas_control()  # the last one out may not be the thread that set the limit
                self._limiter.restore_original_limits()
                self._limiter = None
                _release_blas_control()  # and no thread keeps control once the default is back


_SHARED_BLAS_LIMIT = _SharedBlasLimit()


@contextlib.contextmanager
def serial_blas() -> Iterator[None]:
    """A context in which BLAS (OpenBLAS under numpy and scipy) runs on one thread.

    The heads' solvers multiply a few hundred to a few thousand rows by a handful of weight
    vectors hundreds of times; OpenBLAS's threads cost more than they give there. On the 2-core
    reference machine the demo's grader trained in half the time with one thread
    (docs/performance.md). It also makes a fit independent of how many cores the
    machine has (the rounding of a threaded product can depend on it). The thread limit is
    process-wide and shared: threads inside run at the same time, the first in sets it and the
    last out restores it, so a server's prediction does not wait for a head fit of a label round
    running in another thread. Nested use is fine.
    """
    _SHARED_BLAS_LIMIT.enter()
    try:
        yield
    finally:
        _SHARED_BLAS_LIMIT.leave()


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


def _penalty_path(
    X: npt.ArrayLike,
    y: Sequence[int] | npt.ArrayLike,
    *,
    n_classes: int,
    head: str,
    groups: Sequence[Any] | npt.ArrayLike | None,
    grid: Sequence[float],
    n_splits: int,
    seed: int,
    fallback: float,
    views: int = 1,
) -> tuple[float, dict[float, float], FloatArray | None]:
    """:func:`select_penalty`, also returning the chosen C's out-of-fold predictions for every photo
    (None when nothing was measured or a fold could not be fitted)."""
    if head not in ("ordinal", "logistic"):
        raise ValidationError(f"head {head!r}; allowed: 'ordinal', 'logistic'", where="select_penalty")
    A = _check_x(X)
    yv = _check_y(y, n_classes)
    n_photos = len(yv) // max(views, 1)
    if views < 1 or n_photos * views != len(yv) or (views > 1 and groups is None):
        raise ValidationError(f"{len(yv)} rows are not {views} view(s) of the same photos with their groups",
                              where="select_penalty")
    if views > 1 and not np.array_equal(np.tile(yv[:n_photos], views), yv):
        raise ValidationError("the views of a photo carry different levels", where="select_penalty")
    counts = np.bincount(yv[:n_photos], minlength=n_classes)
    if n_photos < 30 or int((counts >= n_splits).sum()) < 2 or not grid:
        return fallback, {}, None
    g = np.asarray([str(v) for v in np.asarray(groups).ravel()]) if groups is not None else np.arange(len(yv))
    folds = penalty_folds(yv, g, n_splits=n_splits, seed=seed)
    if not folds:
        return fallback, {}, None
    order = sorted(float(c) for c in grid)
    losses = dict.fromkeys(order, 0.0)
    oof = {C: np.full((len(yv), n_classes), np.nan) for C in order}
    for tr, te in folds:
        if len(np.unique(yv[tr])) < 2:
            continue
        prev: FloatArray | None = None
        for C in order:
            m: OrdinalLogistic | LinearProbe
            if head == "ordinal":
                m = OrdinalLogistic(n_classes=n_classes, C=C).fit(A[tr], yv[tr], warm_start=prev)
                prev = m.params_
            else:
                m = LinearProbe(n_classes=n_classes, C=C).fit(A[tr], yv[tr])
            oof[C][te] = m.predict_proba(A[te])
    # a photo's prediction is the mean over its views (test-time augmentation), scored once
    oof = {C: p.reshape(views, n_photos, n_classes).mean(axis=0) for C, p in oof.items()}
    yp = yv[:n_photos]
    for C, p in oof.items():
        done = np.isfinite(p).all(axis=1)
        proba = np.clip(p[done], 1e-12, 1.0)
        losses[C] = float(-np.log(proba[np.arange(int(done.sum())), yp[done]]).sum())
    n = float(n_photos)
    table = {C: v / n for C, v in losses.items()}
    best = min(order, key=lambda C: (round(table[C], 9), C))
    kept = oof[best]
    return best, table, (kept if bool(np.isfinite(kept).all()) else None)


def select_penalty(
    X: npt.ArrayLike,
    y: Sequence[int] | npt.ArrayLike,
    *,
    n_classes: int,
    head: str = "ordinal",
    groups: Sequence[Any] | npt.ArrayLike | None = None,
    grid: Sequence[float] = C_GRID,
    n_splits: int = 3,
    seed: int = 0,
    fallback: float = 0.02,
    views: int = 1,
) -> tuple[float, dict[float, float]]:
    """The L2 strength of a head (``"ordinal"``: :class:`OrdinalLogistic`, ``"logistic"``:
    :class:`LinearProbe`) with the lowest held-out log-loss, and the loss of each.

    Stratified, grouped K-fold (``groups``: e.g. the asset of each image, so no asset is on both
    sides); within a fold the grid is fitted from the strongest regularisation up (the ordinal
    head warm-starts each fit from the previous one). Ties go to the stronger regularisation.
    With fewer groups than ``n_splits`` there is one fold per group. With fewer than 30 rows, one
    group, or fewer than two levels holding ``n_splits`` rows each, nothing is measured and
    ``fallback`` is returned with an empty loss table. ``views`` > 1: the rows are
    that many blocks, each every photo under one label-preserving view (in the same order; give
    ``groups`` so a photo's views share a fold); a photo is scored once, by the mean of its views'
    predictions (test-time augmentation), and the size rules count photos.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 5)); y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=90), [-0.5, 0.5])
    >>> C, losses = select_penalty(X, y, n_classes=3)
    >>> C in C_GRID, sorted(losses) == sorted(C_GRID)
    (True, True)
    """
    C, table, _ = _penalty_path(X, y, n_classes=n_classes, head=head, groups=groups, grid=grid, n_splits=n_splits,
                                seed=seed, fallback=fallback, views=views)
    return C, table


select_ordinal_penalty = select_penalty
""":func:`select_penalty` with its default ``head="ordinal"`` (the vision extractor's head); kept by name."""


@dataclass(frozen=True)
class HeadChoice:
    """What :func:`select_head` chose: the head, its L2 strength, every head's loss table, and the
    chosen head's out-of-fold predictions at that strength (one row per training photo, the mean
    over its views; None when nothing was measured)."""

    head: str
    C: float
    losses: dict[str, dict[float, float]]
    oof: FloatArray | None


def select_head(
    X: npt.ArrayLike,
    y: Sequence[int] | npt.ArrayLike,
    *,
    n_classes: int,
    heads: Sequence[str] = ("ordinal", "logistic"),
    groups: Sequence[Any] | npt.ArrayLike | None = None,
    grid: Sequence[float] = C_GRID,
    n_splits: int = 3,
    seed: int = 0,
    fallback: float = 0.02,
    views: int = 1,
) -> HeadChoice:
    """The head and L2 strength with the lowest held-out log-loss (:class:`HeadChoice`).

    Each head runs :func:`select_penalty` on the same stratified, grouped folds (same ``seed``),
    so the heads are compared like for like, each at its own best C. Ties, and data too small to
    measure anything (every loss table empty), go to the first head in ``heads``, by default the
    ordinal one, which keeps the order of the levels. A multinomial head wins where the levels are
    not ordered along one direction of the features: a cumulative-link model has one weight vector
    for all thresholds, a multinomial one a vector per level. ``views`` as in :func:`select_penalty`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(150, 1)); y = np.digitize(x[:, 0], [-0.5, 0.5])
    >>> y = np.where(y == 2, 1, np.where(y == 1, 2, 0))  # the middle of x is the worst level
    >>> select_head(x, y, n_classes=3).head
    'logistic'
    """
    if not heads:
        raise ValidationError("no head to choose from", where="select_head")
    tables: dict[str, dict[float, float]] = {}
    chosen: dict[str, float] = {}
    oof: dict[str, FloatArray | None] = {}
    for head in heads:
        chosen[head], tables[head], oof[head] = _penalty_path(
            X, y, n_classes=n_classes, head=head, groups=groups, grid=grid, n_splits=n_splits, seed=seed,
            fallback=fallback, views=views)
    rank = {h: i for i, h in enumerate(heads)}

    def best(h: str) -> float:
        return round(tables[h][chosen[h]], 9) if tables[h] else float("inf")

    head = min(heads, key=lambda h: (best(h), rank[h]))
    return HeadChoice(head, chosen[head], tables, oof[head])
