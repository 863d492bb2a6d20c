"""Probably-wrong labels from out-of-fold probabilities: confident learning, extended to ordinal grades.

Implements confident learning from the paper (C. G. Northcutt, L. Jiang, I. L. Chuang,
"Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70, 2021), written
here from the paper — cleanlab itself is AGPL and is neither used nor copied:

1. per-class thresholds t_j = mean of p̂(j|x) over the items labelled j;
2. the confident joint C[i, j]: items labelled i whose most probable class *among those at or
   above their threshold* (p̂(j|x) >= t_j, up to float rounding in t_j) is j, the given label i
   when it ties for the largest (equal probabilities are no evidence against it); calibrated so
   row i sums to the count of label i, then normalised to the joint Q;
3. pruning: ``prune_by_class`` (per label i, the n·Σ_{j≠i} Q[i, j] items with the lowest
   self-confidence), ``prune_by_noise_rate`` (per off-diagonal (i, j), the n·Q[i, j] items
   labelled i with the largest margin p̂(j|x) − p̂(i|x)), ``both`` (their intersection) or
   ``confident_joint`` (the off-diagonal entries of C themselves); the pruning rules never flag
   every item of a given label (its item of highest self-confidence stays unflagged);
4. ranking by self-confidence p̂(ỹ|x) or normalised margin p̂(ỹ|x) − max_{k≠ỹ} p̂(k|x).

Ordinal extension (ours): with ordered grades a label two grades off costs more than one. The
per-item expected distance E|y* − ỹ| = Σ_k p̂(k|x)·|k − ỹ| is reported, the default ranking
score is the expected distance (so a 2-step flip ranks above a 1-step flip of equal
confidence), and the suggested grade is the posterior median, which minimises expected
absolute distance. Which items are flagged does not depend on the order: pruning by noise
rate picks, for each pair (given i, true j), the items of largest margin p̂(j|x) − p̂(i|x), and a
weight |j − i| would be the same for every item of the pair, so it could not change the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = [
    "SUM_TOLERANCE",
    "LabelIssues",
    "confident_joint",
    "distribution_rows",
    "find_label_issues",
    "out_of_fold_probs",
    "per_class_thresholds",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["prune_by_noise_rate", "prune_by_class", "both", "confident_joint"]
RankBy = Literal["self_confidence", "normalized_margin", "expected_distance"]


SUM_TOLERANCE = 0.01
"""How far a probability row's sum may be from 1 (rounded or float32 probabilities); such rows are rescaled."""

_AT_THRESHOLD = 1e-9
"""p̂(j|x) >= t_j is tested as p̂(j|x) >= t_j − this: the float mean t_j can exceed an item's equal value by an ulp
(mean(0.6, 0.5, 0.8, 0.5) is 0.6000000000000001), and such an item is at the threshold, so it counts (cleanlab
allows 1e-6). Rounding in the mean is about 1e-16 · n; probabilities that differ by 1e-9 are not ties."""


def distribution_rows(probs: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which rows of ``probs`` are probability distributions: finite, non-negative, summing to 1 ± ``SUM_TOLERANCE``.

    >>> distribution_rows([[0.33, 0.33, 0.33], [0.0, 0.0, 0.0], [0.5, 0.6, -0.1]]).tolist()
    [True, False, False]
    """
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        off = np.abs(p.sum(axis=-1) - 1.0)
        ok: npt.NDArray[np.bool_] = np.isfinite(p).all(axis=-1) & (p >= 0).all(axis=-1) & (off <= SUM_TOLERANCE + 1e-12)
    return ok


def _row_name(row: int, ids: Sequence[str] | None) -> str:
    return f"probs row {row}" + (f" (asset {ids[row]!r})" if ids is not None else "")


def _shown(values: FloatArray) -> str:
    head = ", ".join(f"{v:.6g}" for v in values[:10])
    return f"[{head}{', ...' if len(values) > 10 else ''}]"


def _check(
    labels: npt.ArrayLike, probs: npt.ArrayLike, ids: Sequence[str] | None = None
) -> tuple[IntArray, FloatArray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValidationError(f"probs must be (n_items, n_classes >= 2), got {p.shape}", where="probs")
    if y.shape != (p.shape[0],):
        raise ValidationError(f"{y.shape} labels for {p.shape[0]} probability rows", where="labels")
    if ids is not None and len(ids) != p.shape[0]:
        raise ValidationError(f"{len(ids)} ids for {p.shape[0]} probability rows", where="ids")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValidationError("labels must be integer class indices", where="labels")
    k = p.shape[1]
    bad = np.flatnonzero((y < 0) | (y >= k))
    if len(bad):
        raise ValidationError(f"label {y[bad[0]]} outside 0..{k - 1}", where=f"labels row {bad[0]}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        row = int(np.argwhere(~np.isfinite(p) | (p < 0))[0, 0])
        raise ValidationError(
            f"probabilities must be finite and non-negative, got {_shown(p[row])}", where=_row_name(row, ids)
        )
    s = p.sum(axis=1)
    off = np.flatnonzero(~distribution_rows(p))
    if len(off):
        row = int(off[0])
        what = "is all zero (no prediction)" if s[row] == 0 else f"sums to {s[row]:.6g}"
        raise ValidationError(
            f"a probability row must sum to 1 (within {SUM_TOLERANCE}); it {what}: {_shown(p[row])}"
            + (f"; {len(off)} such rows" if len(off) > 1 else ""),
            where=_row_name(row, ids),
        )
    return y.astype(np.int64), p / s[:, None]


def per_class_thresholds(labels: npt.ArrayLike, probs: npt.ArrayLike) -> FloatArray:
    """t_j: the mean predicted probability of class j over the items labelled j (nan for an unused class)."""
    y, p = _check(labels, probs)
    k = p.shape[1]
    t = np.full(k, np.nan)
    for j in range(k):
        if np.any(y == j):
            t[j] = p[y == j, j].mean()
    return t


def confident_joint(labels: npt.ArrayLike, probs: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """The confident joint C (k, k) and each item's confident class (-1 when no class reaches its threshold).

    Among the classes at or above their thresholds the most probable is the confident class; a tie
    that includes the given label goes to the label, another tie to the lowest index.
    """
    y, p = _check(labels, probs)
    k = p.shape[1]
    t = per_class_thresholds(y, p)
    above = p >= np.where(np.isnan(t), np.inf, t - _AT_THRESHOLD)[None, :]
    masked = np.where(above, p, -1.0)
    best = masked.argmax(axis=1)
    rows = np.arange(len(y))
    own = above[rows, y] & (masked[rows, y] >= masked[rows, best])  # a tie with the given label keeps the label
    conf = np.where(above.any(axis=1), np.where(own, y, best), -1).astype(np.int64)
    c = np.zeros((k, k), dtype=np.int64)
    ok = conf >= 0
    np.add.at(c, (y[ok], conf[ok]), 1)
    return c, conf


def _joint(c: IntArray, y: IntArray) -> FloatArray:
    """Calibrate C so row i sums to the count of label i, then normalise to a joint distribution Q."""
    k = c.shape[0]
    label_counts = np.bincount(y, minlength=k).astype(np.float64)
    rows = c.sum(axis=1, keepdims=True).astype(np.float64)
    cal = np.where(rows > 0, c / np.where(rows > 0, rows, 1.0), np.eye(k)) * label_counts[:, None]
    total = cal.sum()
    return cal / total if total > 0 else cal


@dataclass
class LabelIssues:
    """Per-item label-quality results; build with :func:`find_label_issues`.

    Examples
    --------
    >>> probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]])
    >>> res = find_label_issues([0, 0, 1, 1, 1], probs)
    >>> res.issue_indices().tolist(), int(res.suggested[4])
    ([4], 0)
    """

    scores: FloatArray
    """Label-quality score in [0, 1]: higher = more likely wrong."""
    flags: npt.NDArray[np.bool_]
    suggested: IntArray
    """Suggested label per item (the most probable class; the posterior median for ordinal grades)."""
    expected_distance: FloatArray
    """E|y* − ỹ| under the predicted probabilities (0/1 distance for nominal classes)."""
    thresholds: FloatArray
    confident_joint: IntArray
    joint: FloatArray
    """Estimated joint distribution Q[given, true]."""
    ordinal: bool

    @property
    def noise_rate(self) -> float:
        """Estimated fraction of wrong labels: 1 − trace(Q); ``nan`` for no items (Q is all zero then)."""
        if not self.joint.sum() > 0:
            return float("nan")
        return float(1.0 - np.trace(self.joint))

    def issue_indices(self) -> IntArray:
        """Flagged items, most suspicious first."""
        idx = np.flatnonzero(self.flags)
        return idx[np.argsort(-self.scores[idx], kind="stable")].astype(np.int64)

    def to_rows(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The flagged items as rows (id, score, suggested label, expected distance) for a re-review queue."""
        rows = []
        for i in self.issue_indices():
            rows.append(
                {
                    "item": ids[i] if ids is not None else int(i),
                    "score": float(self.scores[i]),
                    "suggested": int(self.suggested[i]),
                    "expected_distance": float(self.expected_distance[i]),
                }
            )
        return rows


def _keep_one_per_label(flags: npt.NDArray[np.bool_], y: IntArray, p: FloatArray) -> npt.NDArray[np.bool_]:
    """Unflag, in a given label whose every item is flagged, its item of highest self-confidence.

    Pruning never empties a label (as cleanlab's ``min_examples_per_class=1``): with a tiny class
    (two items that each look like another class) every item used to be flagged.
    """
    for i in np.unique(y[flags]):
        members = np.flatnonzero(y == i)
        if flags[members].all():
            flags[members[int(np.argmax(p[members, i]))]] = False
    return flags


def _prune_by_class(y: IntArray, p: FloatArray, q: FloatArray) -> npt.NDArray[np.bool_]:
    n, k = p.shape
    flags = np.zeros(n, dtype=bool)
    for i in range(k):
        members = np.flatnonzero(y == i)
        m = min(round(n * (q[i].sum() - q[i, i])), len(members))
        if m > 0:
            order = members[np.argsort(p[members, i], kind="stable")]
            flags[order[:m]] = True
    return _keep_one_per_label(flags, y, p)


def _prune_by_noise_rate(y: IntArray, p: FloatArray, q: FloatArray) -> npt.NDArray[np.bool_]:
    n, k = p.shape
    flags = np.zeros(n, dtype=bool)
    for i in range(k):
        members = np.flatnonzero(y == i)
        if len(members) == 0:
            continue
        for j in range(k):
            m = round(n * q[i, j]) if j != i else 0
            if m <= 0:
                continue
            margin = p[members, j] - p[members, i]  # (a grade-distance weight would be constant here)
            order = members[np.argsort(-margin, kind="stable")]
            flags[order[: min(m, len(members) - 1)]] = True
    return _keep_one_per_label(flags, y, p)  # the union over j may still have taken every item of a label


def find_label_issues(
    labels: npt.ArrayLike,
    probs: npt.ArrayLike,
    *,
    method: Method = "prune_by_noise_rate",
    rank_by: RankBy | None = None,
    ordinal: bool = False,
    ids: Sequence[str] | None = None,
) -> LabelIssues:
    """Flag probably-wrong labels with confident learning (Northcutt et al. 2021), optionally ordinal.

    Parameters
    ----------
    labels : given class index per item.
    probs : out-of-fold predicted probabilities (n_items, n_classes) — in-sample
        probabilities memorise the noise and find nothing (see :func:`out_of_fold_probs`).
    method : pruning rule (see the module docstring).
    rank_by : score; default "expected_distance" for ordinal grades, else "self_confidence".
    ordinal : classes are ordered grades (index 0 = best); distances count in grade steps.
    ids : the asset (or item) id of each row, named in errors about a row.

    A probability row must be finite, non-negative and sum to 1 within ``SUM_TOLERANCE``
    (then it is rescaled to sum exactly 1); an all-zero row, a row of percentages or any other
    row is refused with a ValidationError naming its index and id, not silently rescaled.
    """
    y, p = _check(labels, probs, ids)
    n, k = p.shape
    c, conf = confident_joint(y, p)
    q = _joint(c, y)
    if method == "prune_by_class":
        flags = _prune_by_class(y, p, q)
    elif method == "prune_by_noise_rate":
        flags = _prune_by_noise_rate(y, p, q)
    elif method == "both":
        flags = _prune_by_class(y, p, q) & _prune_by_noise_rate(y, p, q)
    elif method == "confident_joint":
        flags = (conf >= 0) & (conf != y)
    else:
        raise ValidationError(
            f"method {method!r}; allowed: prune_by_noise_rate, prune_by_class, both, confident_joint", where="method"
        )
    grid = np.arange(k)
    dist = np.abs(grid[None, :] - y[:, None]).astype(np.float64) if ordinal else (grid[None, :] != y[:, None]) * 1.0
    expected = (p * dist).sum(axis=1)
    rank = rank_by or ("expected_distance" if ordinal else "self_confidence")
    self_conf = p[np.arange(n), y]
    if rank == "self_confidence":
        scores = 1.0 - self_conf
    elif rank == "normalized_margin":
        others = p.copy()
        others[np.arange(n), y] = -np.inf
        scores = (1.0 - (self_conf - others.max(axis=1))) / 2.0
    elif rank == "expected_distance":
        scores = expected / (k - 1 if ordinal else 1)
    else:
        raise ValidationError(
            f"rank_by {rank!r}; allowed: self_confidence, normalized_margin, expected_distance", where="rank_by"
        )
    suggested = (np.cumsum(p, axis=1) >= 0.5).argmax(axis=1) if ordinal else p.argmax(axis=1)
    t = per_class_thresholds(y, p)
    return LabelIssues(
        scores=scores,
        flags=flags,
        suggested=suggested.astype(np.int64),
        expected_distance=expected,
        thresholds=t,
        confident_joint=c,
        joint=q,
        ordinal=ordinal,
    )


def out_of_fold_probs(
    X: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    estimator: Any = None,
    n_splits: int = 5,
    groups: Sequence[str] | None = None,
    seed: int = 0,
    n_classes: int | None = None,
) -> FloatArray:
    """Out-of-fold class probabilities from a scikit-learn classifier with stratified (grouped) K-fold.

    ``estimator`` defaults to standardisation + logistic regression; it is cloned per fold.
    With ``groups`` (e.g. asset ids) an asset's items stay in one fold, so nothing leaks.
    Classes absent from a training fold get probability 0 for that fold's items.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.asarray(X, dtype=np.float64)
    given = np.asarray(labels)
    if given.ndim != 1 or x.ndim != 2 or x.shape[0] != given.shape[0]:
        raise ValidationError(f"X {x.shape} does not match labels {given.shape}", where="out_of_fold_probs")
    # a label -1 was trained as a class and its column written over the last one; 1.5 was read as 1
    if given.dtype.kind not in "iuf" or (given.dtype.kind == "f" and not np.all(given == np.round(given))):
        raise ValidationError("labels must be integer class indices", where="out_of_fold_probs.labels")
    y = given.astype(np.int64)
    if len(y) and y.min() < 0:
        raise ValidationError(f"label {y.min()} is not a class index (0..k-1)",
                              where=f"out_of_fold_probs.labels row {int(np.argmin(y))}")
    k = n_classes if n_classes is not None else int(y.max(initial=0)) + 1
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1 or (len(y) and y.max() >= k):
        raise ValidationError(f"n_classes={n_classes!r} does not cover label {y.max(initial=0)}",
                              where="out_of_fold_probs.n_classes")
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise ValidationError(f"n_splits={n_splits!r} must be an integer >= 2", where="out_of_fold_probs.n_splits")
    if n_splits > len(y):  # sklearn's ValueError did not name the setting
        raise ValidationError(f"n_splits={n_splits} is more than the {len(y)} items",
                              where="out_of_fold_probs.n_splits")
    if groups is not None and n_splits > len(set(groups)):  # sklearn's ValueError did not name the setting
        raise ValidationError(f"n_splits={n_splits} is more than the {len(set(groups))} groups",
                              where="out_of_fold_probs.n_splits")
    if estimator is None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    splits: Any
    if groups is not None:
        if len(groups) != len(y):
            raise ValidationError(f"{len(groups)} groups for {len(y)} items", where="groups")
        splits = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(x, y, groups)
    else:
        splits = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(x, y)
    out = np.zeros((len(y), k))
    for train, test in splits:
        model = clone(estimator).fit(x[train], y[train])
        out[np.ix_(test, np.asarray(model.classes_, dtype=np.int64))] = model.predict_proba(x[test])
    return out
