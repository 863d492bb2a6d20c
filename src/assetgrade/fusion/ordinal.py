"""Ordinal grades as K-1 binary "worse than grade k" models (Frank & Hall 2001).

Frank, E. & Hall, M. (2001), "A simple approach to ordinal classification", ECML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ConstantCut", "fit_ordinal", "ordinal_proba"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ConstantCut:
    """A binary 'model' for an ordinal cut with one side empty in training: always that side.

    Examples
    --------
    >>> ConstantCut(1).predict_proba(np.zeros((2, 3))).tolist()
    [[1.0], [1.0]]
    """

    def __init__(self, value: int) -> None:
        self.classes_ = np.array([value])

    def predict_proba(self, X: FloatArray) -> FloatArray:
        return np.ones((len(X), 1))


def fit_ordinal(make_binary: Callable[[], Any], X: FloatArray, y: IntArray, n_classes: int) -> list[Any]:
    """One binary model per cut j < K-1, trained on ``y > j``; a cut with one side empty is a :class:`ConstantCut`."""
    estimators: list[Any] = []
    for j in range(n_classes - 1):
        target = (j < y).astype(np.int64)
        if target.min() == target.max():  # no grade on one side of this cut: a constant answer
            estimators.append(ConstantCut(int(target[0])))
        else:
            estimators.append(make_binary().fit(X, target))
    return estimators


def _positive(est: Any, X: FloatArray) -> FloatArray:
    classes = list(est.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    out: FloatArray = est.predict_proba(X)[:, classes.index(1)]
    return out


def ordinal_proba(estimators: Sequence[Any], X: FloatArray) -> FloatArray:
    """Grade distribution from the cut models: P(y = j) = P(y > j-1) - P(y > j), the cuts made monotone.

    >>> cuts = [ConstantCut(1), ConstantCut(0)]   # surely worse than A, surely not worse than B
    >>> ordinal_proba(cuts, np.zeros((1, 2))).tolist()
    [[0.0, 1.0, 0.0]]
    """
    n = len(X)
    gt = np.column_stack([_positive(e, X) for e in estimators])  # P(y > j)
    gt = np.minimum.accumulate(gt, axis=1)  # monotone: P(y > j) non-increasing in j
    cum = np.concatenate([np.ones((n, 1)), gt, np.zeros((n, 1))], axis=1)
    out: FloatArray = cum[:, :-1] - cum[:, 1:]
    return out
