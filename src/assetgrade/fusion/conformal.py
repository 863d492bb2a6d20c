"""Split-conformal prediction sets for grades: LAC, APS, ordinal (contiguous) sets, Mondrian by group.

A split-conformal predictor computes a non-conformity score on a held-out calibration set and
takes its finite-sample quantile at level ``ceil((n+1)(1-alpha))/n``; on exchangeable data the
set of grades whose score is at most that quantile holds the true grade with probability at
least ``1 - alpha`` (Vovk, Gammerman & Shafer 2005; Angelopoulos & Bates 2021, "A Gentle
Introduction to Conformal Prediction").

Scores:

* ``"lac"``: ``1 - p_true`` (least ambiguous set-valued classifier, Sadinle, Lei & Wasserman 2019);
* ``"aps"``: the probability mass of all grades at least as likely as the true one (adaptive
  prediction sets, Romano, Sesia & Candès 2020; non-randomised, so slightly conservative);
* ``"ordinal"``: for ordered grades, the mass of the contiguous interval grown from the most
  likely grade towards the likelier neighbour until it reaches the true grade; sets are grade
  intervals (in the spirit of Lu et al. 2022, "Improving trustworthiness of AI disease severity
  rating in medical imaging with ordinal conformal prediction sets").

Mondrian (group-conditional) conformal computes one quantile per group, e.g. per asset type
(Vovk et al. 2005, ch. 4); a group with fewer than ``min_group_size`` calibration points falls
back to the pooled quantile, and the result says so per item. A predictor calibrated per group
refuses to predict without groups: the pooled quantile is not the coverage its caller asked for
per group, and used silently it hid a caller that had forgotten to pass them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.fusion.inputs import as_labels, as_proba

__all__ = [
    "ConformalResult",
    "SplitConformal",
    "conformal_quantile",
    "conformal_scores",
    "coverage",
    "mean_set_size",
    "min_calibration",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["lac", "aps", "ordinal"]
_METHODS = ("lac", "aps", "ordinal")


def conformal_quantile(scores: npt.ArrayLike, alpha: float) -> float:
    """The finite-sample quantile: the ``ceil((n+1)(1-alpha))``-th smallest score (inf when that exceeds n)."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(s)
    if not 0 < alpha < 1:
        raise ValidationError(f"alpha={alpha} must be in (0, 1)", where="alpha")
    # in decimal as written: (n + 1) * (1 - alpha) in floats made 10 * (1 - 0.7) = 3.0000000000000004,
    # a rank one too high (alpha 0.7 with n = 9, 0.45 with n = 99, 0.99 with n = 99)
    k = math.ceil((n + 1) * (1 - Fraction(repr(float(alpha)))))
    if n == 0 or k > n:
        return float("inf")
    return float(s[k - 1])


def min_calibration(alpha: float) -> int:
    """The fewest calibration points whose finite-sample quantile is finite: ``ceil((1 - alpha) / alpha)``.

    With fewer, :func:`conformal_quantile` is inf and every set holds every grade: the coverage
    holds, but trivially, so whoever shows such a set should say so.

    >>> min_calibration(0.1), min_calibration(0.2), min_calibration(0.05)
    (9, 4, 19)
    """
    if not 0 < alpha < 1:
        raise ValidationError(f"alpha={alpha} must be in (0, 1)", where="alpha")
    a = Fraction(repr(float(alpha)))  # in decimal as written, as conformal_quantile
    return math.ceil((1 - a) / a)


def _path_mass(p: FloatArray, method: Method) -> tuple[FloatArray, FloatArray]:
    """For every row, each grade's score: the set-building mass up to and including that grade.

    Returns (score per (row, grade), rank per (row, grade)); a set at threshold q is
    ``{k: score[k] <= q}``, always extended by the top grade so it is never empty.
    """
    n, k = p.shape
    if method == "lac":
        return 1.0 - p, np.argsort(np.argsort(-p, axis=1), axis=1).astype(np.float64)
    if method == "aps":
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        cum = np.cumsum(sorted_p, axis=1)
        score = np.empty_like(p)
        np.put_along_axis(score, order, cum, axis=1)
        rank = np.empty_like(p)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(k, dtype=np.float64), (n, k)).copy(), axis=1)
        return score, rank
    # ordinal: grow a contiguous interval from the argmax, adding the likelier neighbour each step
    score = np.empty_like(p)
    rank = np.empty_like(p)
    for i in range(n):
        lo = hi = int(np.argmax(p[i]))
        mass = p[i, lo]
        score[i, lo] = mass
        rank[i, lo] = 0
        for step in range(1, k):
            left = p[i, lo - 1] if lo > 0 else -1.0
            right = p[i, hi + 1] if hi < k - 1 else -1.0
            if right > left:
                hi += 1
                mass += p[i, hi]
                score[i, hi] = mass
                rank[i, hi] = step
            else:
                lo -= 1
                mass += p[i, lo]
                score[i, lo] = mass
                rank[i, lo] = step
    return score, rank


def conformal_scores(proba: npt.ArrayLike, y: npt.ArrayLike, method: Method = "lac") -> FloatArray:
    """Non-conformity score of each true label under ``method``."""
    if method not in _METHODS:
        raise ValidationError(f"method={method!r}; allowed: {_METHODS}", where="method")
    p = as_proba(proba)
    yy = as_labels(y, p.shape[1], rows=len(p))
    score, _ = _path_mass(p, method)
    out: FloatArray = score[np.arange(len(yy)), yy]
    return out


@dataclass
class ConformalResult:
    """Prediction sets for a batch: a boolean (n, k) membership matrix plus per-item details.

    Examples
    --------
    >>> import numpy as np
    >>> r = ConformalResult(np.array([[True, True, False]]), np.array([0.8]), np.array([False]), ("A", "B", "C"))
    >>> r.sets()
    [('A', 'B')]
    """

    membership: BoolArray
    quantile: FloatArray
    """The score threshold used for each item (its group's, or the pooled one)."""
    used_fallback: BoolArray
    """True where the item's group had too few calibration points and the pooled quantile was used."""
    grade_names: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def sets(self) -> list[tuple[str, ...]]:
        """Each item's set as grade names (indices as strings when no names were given)."""
        names = self.grade_names or tuple(str(i) for i in range(self.membership.shape[1]))
        return [tuple(names[k] for k in np.flatnonzero(row)) for row in self.membership]

    def indices(self) -> list[tuple[int, ...]]:
        """Each item's set as grade indices."""
        return [tuple(int(k) for k in np.flatnonzero(row)) for row in self.membership]

    def sizes(self) -> npt.NDArray[np.int64]:
        """Set size per item."""
        out: npt.NDArray[np.int64] = self.membership.sum(axis=1).astype(np.int64)
        return out

    def coverage(self, y: npt.ArrayLike) -> float:
        """Share of items whose true grade index is in their set."""
        return coverage(self.membership, y)

    def mean_size(self) -> float:
        """Mean set size."""
        return mean_set_size(self.membership)


def coverage(membership: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Share of rows whose true label's column is True."""
    m = np.asarray(membership, dtype=bool)
    if m.ndim != 2:
        raise ValidationError(f"membership must be an (n, k) matrix, got shape {m.shape}", where="membership")
    yy = as_labels(y, m.shape[1], rows=len(m))
    if len(yy) == 0:
        return float("nan")
    return float(m[np.arange(len(yy)), yy].mean())


def mean_set_size(membership: npt.ArrayLike) -> float:
    """Mean number of grades per set."""
    m = np.asarray(membership, dtype=bool)
    return float(m.sum(axis=1).mean()) if len(m) else float("nan")


class SplitConformal:
    """Split-conformal grade sets with coverage ``1 - alpha``, optionally per group (Mondrian).

    Parameters
    ----------
    alpha : float
        Miscoverage; 0.1 gives 90% sets.
    method : {"lac", "aps", "ordinal"}
        The non-conformity score (see the module docstring); ``"ordinal"`` gives grade intervals.
    min_group_size : int
        Calibration points a group needs for its own quantile; smaller groups use the pooled one.
        Fitted with groups, :meth:`predict` needs the items' groups too (it refuses without).
    allow_empty : bool
        LAC can return an empty set when no grade is likely enough; by default the most likely
        grade is always included (this only enlarges sets, so coverage still holds).

    Attributes
    ----------
    quantile_ : float
        The pooled quantile.
    group_quantiles_ : dict[str, float]
        Per-group quantiles for groups with at least ``min_group_size`` points.
    group_counts_ : dict[str, int]
    fallback_groups_ : list[str]
        Groups seen in calibration that fell back to the pooled quantile.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet([2, 2, 2], size=500)
    >>> y = np.array([rng.choice(3, p=row) for row in p])
    >>> cp = SplitConformal(alpha=0.1).fit(p[:300], y[:300])
    >>> res = cp.predict(p[300:])
    >>> 0.8 < res.coverage(y[300:]) <= 1.0
    True
    """

    def __init__(
        self,
        *,
        alpha: float = 0.1,
        method: Method = "lac",
        min_group_size: int = 30,
        allow_empty: bool = False,
        grade_names: Sequence[str] = (),
    ) -> None:
        self.alpha = alpha
        self.method = method
        self.min_group_size = min_group_size
        self.allow_empty = allow_empty
        self.grade_names = tuple(grade_names)

    def _check_settings(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValidationError(f"alpha={self.alpha} must be in (0, 1)", where="SplitConformal.alpha")
        if self.method not in _METHODS:
            raise ValidationError(f"method={self.method!r}; allowed: {_METHODS}", where="SplitConformal.method")
        if self.min_group_size < 1:
            raise ValidationError(
                f"min_group_size={self.min_group_size} must be >= 1", where="SplitConformal.min_group_size"
            )

    def fit(self, proba: npt.ArrayLike, y: npt.ArrayLike, groups: Sequence[str] | None = None) -> Self:
        """Compute the quantiles on calibration data (held out from the model's training); returns self."""
        self._check_settings()
        p = as_proba(proba, where="calibration proba")
        yy = as_labels(y, p.shape[1])
        if len(yy) != len(p):
            raise ValidationError(f"{len(p)} rows but {len(yy)} labels", where="y")
        if self.grade_names and len(self.grade_names) != p.shape[1]:
            raise ValidationError(f"{len(self.grade_names)} grade names for {p.shape[1]} columns", where="grade_names")
        s = conformal_scores(p, yy, self.method)
        self.n_classes_ = int(p.shape[1])
        self.n_calibration_ = len(yy)
        self.quantile_ = conformal_quantile(s, self.alpha)
        self.group_quantiles_: dict[str, float] = {}
        self.group_counts_: dict[str, int] = {}
        self.fallback_groups_: list[str] = []
        if groups is not None:
            g = np.asarray([str(x) for x in groups])
            if len(g) != len(yy):
                raise ValidationError(f"{len(g)} groups for {len(yy)} rows", where="groups")
            for name in sorted(set(g.tolist())):
                m = g == name
                self.group_counts_[name] = int(m.sum())
                if m.sum() >= self.min_group_size:
                    self.group_quantiles_[name] = conformal_quantile(s[m], self.alpha)
                else:
                    self.fallback_groups_.append(name)
        return self

    def too_few(self, group: str | None = None) -> tuple[int, int] | None:
        """(calibration points, the fewest a finite quantile needs) when the quantile ``group`` uses
        (its own, else the pooled one) is inf, so its sets hold every grade; None when it is finite.

        >>> import numpy as np
        >>> SplitConformal(alpha=0.1).fit(np.full((5, 2), 0.5), [0, 1, 0, 1, 0]).too_few()
        (5, 9)
        """
        if group is not None and group in self.group_quantiles_:
            q, n = self.group_quantiles_[group], self.group_counts_[group]
        else:
            q, n = self.quantile_, self.n_calibration_
        return (n, min_calibration(self.alpha)) if math.isinf(q) else None

    def predict(self, proba: npt.ArrayLike, groups: Sequence[str] | None = None) -> ConformalResult:
        """Prediction sets for new items; ``groups`` (one per item) is required when fitted per group.

        A predictor fitted with groups (Mondrian) refuses ``groups=None`` with a
        ValidationError instead of giving every item the pooled quantile unannounced; fit one
        without groups for pooled sets.
        """
        if not hasattr(self, "quantile_"):
            raise ValidationError("SplitConformal is not fitted; call fit first", where="SplitConformal")
        if groups is None and self.group_counts_:
            names = sorted(self.group_counts_)
            shown = ", ".join(repr(g) for g in names[:3]) + (", ..." if len(names) > 3 else "")
            raise ValidationError(
                f"calibrated per group ({len(names)} group(s): {shown}) but given no groups; pass one group per "
                "item (e.g. its asset type), or fit without groups for pooled sets",
                where="SplitConformal.predict groups")
        p = as_proba(proba)
        if p.shape[1] != self.n_classes_:
            raise ValidationError(f"expected {self.n_classes_} columns, got {p.shape[1]}", where="proba")
        n = len(p)
        q = np.full(n, self.quantile_)
        fell = np.zeros(n, dtype=bool)
        notes: list[str] = []
        if groups is not None and not self.group_counts_:
            # not a fallback: a predictor calibrated without groups has only the pooled quantile
            if len(groups) != n:
                raise ValidationError(f"{len(groups)} groups for {n} rows", where="groups")
            notes.append("calibrated without groups: every item uses the pooled quantile")
        elif groups is not None:
            g = [str(x) for x in groups]
            if len(g) != n:
                raise ValidationError(f"{len(g)} groups for {n} rows", where="groups")
            for i, name in enumerate(g):
                if name in self.group_quantiles_:
                    q[i] = self.group_quantiles_[name]
                else:
                    fell[i] = True
            for name in sorted({g[i] for i in np.flatnonzero(fell)}):
                seen = self.group_counts_.get(name, 0)
                notes.append(
                    f"group {name!r} has {seen} calibration points (< {self.min_group_size}); used the pooled quantile"
                )
        score, _ = _path_mass(p, self.method)
        member = score <= q[:, None] + 1e-12
        if not self.allow_empty:
            member[np.arange(n), p.argmax(axis=1)] = True
        return ConformalResult(member, q, fell, self.grade_names, notes)
