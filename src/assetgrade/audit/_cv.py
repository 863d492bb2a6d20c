"""Shared cross-validation helpers for the audit checks: grouped folds and a standardised logistic probe."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["fit_probe", "grouped_folds", "oof_proba", "probe"]


def probe(c: float = 1.0, seed: int = 0) -> Any:
    """Standardise, then L2 logistic regression: the linear probe every audit classifier uses.

    ``tol`` 1e-3 and at most 300 L-BFGS iterations: the probe measures separability, it does
    not need the last digit, and the loose tolerance makes it about 4x faster on embeddings.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=300, tol=1e-3, random_state=seed))


def fit_probe(x: npt.NDArray[Any], y: npt.NDArray[Any], c: float = 1.0, seed: int = 0) -> Any:
    """:func:`probe` fitted on ``(x, y)`` with BLAS on one thread.

    Each L-BFGS step multiplies the rows by one weight vector and updates a few stored correction
    vectors; OpenBLAS's threads cost more than they give there, most of all on a busy machine
    (docs/performance.md), and the fit's rounding no longer depends on the number of cores. See
    :func:`~assetgrade.blas.serial_blas`.
    """
    from assetgrade.blas import serial_blas

    with serial_blas():
        return probe(c, seed).fit(x, y)


def grouped_folds(
    y: npt.NDArray[Any], groups: npt.NDArray[Any], n_splits: int, seed: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Stratified folds that keep each group (asset) in one fold; fewer folds when a class is small.

    No folds at all (an empty list) when the items come from fewer than two groups: one asset
    cannot be both trained on and tested without leaking, so there is nothing to cross-validate.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    _, counts = np.unique(y, return_counts=True)
    n_groups = len(np.unique(groups))
    if n_groups < 2 or len(counts) == 0:
        return []
    k = int(max(2, min(n_splits, counts.min(), n_groups)))
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.asarray(a), np.asarray(b)) for a, b in cv.split(np.zeros(len(y)), y, groups)]


def oof_proba(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], groups: npt.NDArray[Any], *, n_splits: int, seed: int,
    c: float = 1.0,
) -> npt.NDArray[np.float64]:
    """Out-of-fold P(y = 1) of the probe under grouped stratified CV."""
    p = np.full(len(y), np.nan)
    for tr, te in grouped_folds(y, groups, n_splits, seed):
        if len(np.unique(y[tr])) < 2:
            continue
        model = fit_probe(x[tr], y[tr], c, seed)
        p[te] = model.predict_proba(x[te])[:, 1]
    return p
