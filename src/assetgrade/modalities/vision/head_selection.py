"""Choosing a vision head and its L2 strength by grouped, cross-validated log-loss (select_head, select_penalty)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.penalty import penalty_folds
from assetgrade.modalities.vision.head_models import LinearProbe, OrdinalLogistic, _check_x, _check_y

__all__ = ["C_GRID", "HeadChoice", "select_head", "select_ordinal_penalty", "select_penalty"]

C_GRID: tuple[float, ...] = (0.001, 0.003, 0.02, 0.1)
"""Default L2 strengths tried by :func:`select_ordinal_penalty` (inverse: smaller is stronger)."""

FloatArray = npt.NDArray[np.float64]


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
