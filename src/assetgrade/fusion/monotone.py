"""The monotone latent table: every P(grade ≥ g | levels) made non-decreasing in each modality's level.

The levels of the latent table (:mod:`assetgrade.fusion.latent`) are ordered like the grades
(each modality reads the grade scale). :func:`monotone_table` makes a fitted table
stochastically monotone: for every grade g, P(grade ≥ g | levels) must not fall when any one
modality reads a worse level. Each of these cumulative surfaces is replaced by its weighted
least-squares isotonic fit over the product order of the level grid (weights: the cells'
learned mass), computed by Dykstra's cyclic projections (Boyle & Dykstra 1986) onto the
"non-decreasing along axis m" cones, each an exact one-dimensional isotonic regression by the
max-min formula (Robertson, Wright & Dykstra 1988, Order Restricted Statistical Inference,
thm 1.4.4). Isotonic regression is order-preserving, so the projected surfaces stay nested
and form a distribution again. Sparse cells, which the unconstrained table leaves near the
smoothing prior, borrow from their well-populated neighbours; P(levels) is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["isotonic_grid", "monotone_table", "monotone_violations"]

FloatArray = npt.NDArray[np.float64]


def _isotonic_rows(x: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted isotonic (non-decreasing) least-squares fit of each row of ``x``.

    Exact, by the max-min formula fit_i = max_{a ≤ i} min_{b ≥ i} mean_w(x[a..b]), vectorised
    over rows (the rows here are short: one modality's levels).

    >>> _isotonic_rows(np.array([[0.1, 0.5, 0.3], [0.2, 0.1, 0.4]]), np.ones((2, 3))).round(3).tolist()
    [[0.1, 0.4, 0.4], [0.15, 0.15, 0.4]]
    """
    n, k = x.shape
    # each segment's weighted mean from sums started at its first cell: differences of whole-row
    # cumulative sums lost a light cell after heavy ones (weights 1, 1, 1e-20 gave 0 / 0 = NaN)
    mean = np.empty((k, k, n))
    for a in range(k):
        sw = np.zeros(n)
        swx = np.zeros(n)
        for b in range(a, k):
            sw = sw + w[:, b]
            swx = swx + w[:, b] * x[:, b]
            mean[a, b] = swx / sw
    out = np.empty_like(x)
    for i in range(k):
        best = np.full(n, -np.inf)
        for a in range(i + 1):
            best = np.maximum(best, mean[a, i:].min(axis=0))
        out[:, i] = best
    return out


def _along(axis: int, values: FloatArray, weights: FloatArray) -> FloatArray:
    """Isotonic fit of ``values`` along one axis of the level grid (every line separately)."""
    v = np.moveaxis(values, axis, -1)
    w = np.moveaxis(weights, axis, -1)
    fit = _isotonic_rows(v.reshape(-1, v.shape[-1]), w.reshape(-1, w.shape[-1])).reshape(v.shape)
    return np.moveaxis(fit, -1, axis)


def isotonic_grid(values: FloatArray, weights: FloatArray, *, max_iter: int = 200, tol: float = 1e-10) -> FloatArray:
    """Weighted least-squares projection of ``values`` onto functions non-decreasing along every axis.

    Dykstra's cyclic projection algorithm (Boyle & Dykstra 1986) over the axes' cones. It
    converges slowly near the end, so its last iterate may break the order by a rounding-size
    amount; a running maximum along each axis in turn (which keeps the order along the others)
    then makes the result exactly monotone.

    >>> v = np.array([[0.0, 0.6], [0.5, 0.2]])
    >>> fit = isotonic_grid(v, np.ones((2, 2)))
    >>> bool(np.all(np.diff(fit, axis=0) >= -1e-9) and np.all(np.diff(fit, axis=1) >= -1e-9))
    True
    """
    x = np.array(values, dtype=np.float64)
    w = np.clip(np.asarray(weights, dtype=np.float64), 1e-300, None)
    increments = [np.zeros_like(x) for _ in range(x.ndim)]
    for _ in range(max_iter):
        before = x.copy()
        for axis in range(x.ndim):
            y = x + increments[axis]
            x = _along(axis, y, w)
            increments[axis] = y - x
        if float(np.max(np.abs(x - before))) < tol:
            break
    for axis in range(x.ndim):
        x = np.maximum.accumulate(x, axis=axis)
    return x


def _tails(joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each state's mass and its P(grade >= g | levels) per g (column 0 is 1)."""
    mass = joint.sum(axis=1)
    cond = joint / np.clip(mass[:, None], 1e-300, None)
    return mass, np.cumsum(cond[:, ::-1], axis=1)[:, ::-1]


def monotone_table(joint: FloatArray, n_levels: Sequence[int]) -> FloatArray:
    """The joint table with every P(grade ≥ g | levels) replaced by its isotonic fit over the level grid."""
    mass, tail = _tails(joint)
    weights = mass.reshape(*n_levels)
    fitted = [np.ones(len(mass))]
    for g in range(1, joint.shape[1]):
        fit = isotonic_grid(tail[:, g].reshape(*n_levels), weights).ravel()
        fitted.append(np.clip(np.minimum(fit, fitted[-1]), 0.0, 1.0))  # nested up to rounding
    tails = np.stack([*fitted, np.zeros(len(mass))], axis=1)
    new_cond = np.clip(tails[:, :-1] - tails[:, 1:], 0.0, None)
    new_cond /= np.clip(new_cond.sum(axis=1, keepdims=True), 1e-300, None)
    out: FloatArray = new_cond * mass[:, None]
    return out


def monotone_violations(joint: FloatArray, n_levels: Sequence[int], min_share: float, tol: float = 1e-9) -> int:
    """Neighbouring cell pairs of ``joint`` (one level apart in one modality, both holding at least
    ``min_share`` of the mass) where the worse reading has a lower P(grade ≥ g) for some g."""
    mass, flat = _tails(joint)
    tail = flat.reshape(*n_levels, joint.shape[1])
    share = (mass / mass.sum()).reshape(*n_levels)
    count = 0
    for axis in range(len(n_levels)):
        k = n_levels[axis]
        lo = np.take(tail, range(k - 1), axis=axis)
        hi = np.take(tail, range(1, k), axis=axis)
        keep = np.minimum(np.take(share, range(k - 1), axis=axis), np.take(share, range(1, k), axis=axis)) >= min_share
        count += int(np.sum(np.any(hi < lo - tol, axis=-1) & keep))
    return count
