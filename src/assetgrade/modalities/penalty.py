"""An extractor's L2 strength chosen by grouped, stratified cross-validated log-loss.

Used by extractors whose grade model is a penalised linear model on more features than a fixed
penalty suits (the text extractor's mean embedding has 384 columns). The folds keep every group
on one side (:class:`sklearn.model_selection.StratifiedGroupKFold`), so records that share
evidence (assets whose logs repeat the same work orders, photos of one asset) cannot make a weak
penalty look good by remembering their neighbours. The search's many small fits run under
:func:`~assetgrade.blas.serial_blas` (one BLAS thread), as the vision heads' do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.blas import serial_blas

__all__ = ["MIN_ROWS", "choose_penalty", "penalty_folds"]

MIN_ROWS = 30
"""Below this many labelled rows nothing is measured and the fallback strength is used."""

Folds = list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]
FitPredict = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64], float], npt.NDArray[np.float64]]


def choose_penalty(
    fit_predict: FitPredict,
    y: Sequence[int] | npt.ArrayLike,
    *,
    groups: Sequence[Any] | npt.ArrayLike,
    grid: Sequence[float],
    fallback: float,
    n_splits: int = 3,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The strength in ``grid`` with the lowest held-out log-loss, and the loss of each.

    ``fit_predict(train_rows, test_rows, C)`` fits on ``train_rows`` at strength ``C`` and returns
    the class probabilities of ``test_rows``, one column per class index of ``y`` (0 .. k-1).
    The loss of a strength is the mean over all held-out rows of ``-log p(true class)`` (clipped
    at 1e-12). Ties go to the smaller C (the stronger penalty). With fewer groups than
    ``n_splits`` there is one fold per group (an out-of-fold fit on two of three groups still
    measures, so it follows the same recipe as the fit on all three). With fewer than
    :data:`MIN_ROWS` rows, a single group, or a training fold holding one class only, nothing is
    measured: ``fallback`` is returned with an empty table. The fits run on one BLAS thread
    (:func:`~assetgrade.blas.serial_blas`).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 40)); y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    >>> def fp(tr, te, C):
    ...     return LogisticRegression(C=C).fit(X[tr], y[tr]).predict_proba(X[te])
    >>> C, losses = choose_penalty(fp, y, groups=np.arange(120), grid=(0.01, 0.1, 1.0), fallback=1.0)
    >>> sorted(losses) == [0.01, 0.1, 1.0], losses[C] == min(losses.values())
    (True, True)
    >>> choose_penalty(fp, y[:20], groups=np.arange(20), grid=(0.1, 1.0), fallback=1.0)
    (1.0, {})
    """
    yy = np.asarray(y, dtype=np.int64)
    gg = np.asarray(groups).astype(str)
    if len(gg) != len(yy):
        raise ValueError(f"{len(yy)} labels and {len(gg)} groups")
    if len(yy) < MIN_ROWS or len(set(yy.tolist())) < 2:
        return fallback, {}
    folds = penalty_folds(yy, gg, n_splits=n_splits, seed=seed)
    if not folds or any(len(set(yy[tr].tolist())) < 2 for tr, _ in folds):
        return fallback, {}
    table: dict[float, float] = {}
    # many small fits: two OpenBLAS threads spin more than they help (1,560 x 400 text rows: 4.4 s -> 1.35 s on
    # the 2-core machine, docs/performance.md), and one thread makes the search's rounding the same on any machine
    with serial_blas():
        for C in sorted(grid):
            total = 0.0
            for tr, te in folds:
                p = np.asarray(fit_predict(tr.astype(np.int64), te.astype(np.int64), C), dtype=np.float64)
                total += float(-np.log(np.clip(p[np.arange(len(te)), yy[te]], 1e-12, 1.0)).sum())
            table[float(C)] = total / len(yy)
    best = min(table, key=lambda c: (round(table[c], 9), c))
    return best, table


def penalty_folds(y: npt.ArrayLike, groups: npt.ArrayLike, *, n_splits: int = 3, seed: int = 0) -> Folds:
    """The stratified, grouped folds (train rows, held-out rows) a penalty search scores on.

    ``min(n_splits, number of groups)`` folds, shuffled by ``seed``; none (an empty list) with
    one group. A level rarer than the folds simply misses some of them (no warning).

    >>> [te.tolist() for _, te in penalty_folds([0, 1, 0, 1], ["a", "a", "b", "b"])]
    [[2, 3], [0, 1]]
    >>> penalty_folds([0, 1], ["a", "a"])
    []
    """
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    yy, gg = np.asarray(y), np.asarray(groups)
    n_groups = len(np.unique(gg))
    if n_groups < 2:
        return []
    splitter = StratifiedGroupKFold(n_splits=min(n_splits, n_groups), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class in y", category=UserWarning)
        return [(tr.astype(np.int64), te.astype(np.int64)) for tr, te in splitter.split(yy, yy, gg)]
