"""Reviewer agreement on ordinal grades: weighted Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, adjudication.

Ratings are an item-major integer matrix ``(n_items, n_reviewers)`` of category indices
``0..k-1`` (for grades: 0 = best), with ``-1`` where a reviewer did not rate an item; use
:func:`encode_ratings` to build one from grade names. The matrix itself lives in
:mod:`~assetgrade.review.ratings`, the adjudication queue in :mod:`~assetgrade.review.adjudication`;
both are re-exported here. References:

- J. Cohen, "Weighted kappa", Psychological Bulletin 70(4), 1968.
- J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological
  Bulletin 76(5), 1971.
- K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", Annenberg School for
  Communication, University of Pennsylvania, 2011 (coincidence matrix, metric differences,
  missing values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.review.adjudication import Disagreement, adjudication_queue
from assetgrade.review.ratings import MISSING, as_ratings, encode_ratings, grade_names, rating_counts

__all__ = [
    "MISSING",
    "AgreementReport",
    "Disagreement",
    "adjudication_queue",
    "agreement_report",
    "cohen_kappa",
    "encode_ratings",
    "fleiss_kappa",
    "krippendorff_alpha",
    "per_class_alpha",
    "per_reviewer_kappa",
    "rating_counts",
]

Weights = Literal["linear", "quadratic"] | None
Level = Literal["nominal", "ordinal", "interval"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _weight_matrix(k: int, weights: Weights) -> FloatArray:
    """Disagreement weights: 0/1 (None), |i-j|/(k-1) (linear) or ((i-j)/(k-1))^2 (quadratic)."""
    i, j = np.indices((k, k))
    if weights is None:
        return np.asarray(i != j, dtype=np.float64)
    d: FloatArray = np.abs(i - j).astype(np.float64) / max(k - 1, 1)
    if weights == "linear":
        return d
    if weights == "quadratic":
        return np.asarray(d**2, dtype=np.float64)
    raise ValidationError(f"weights {weights!r}; allowed: None, 'linear', 'quadratic'", where="cohen_kappa")


def cohen_kappa(
    a: npt.ArrayLike, b: npt.ArrayLike, *, n_categories: int | None = None, weights: Weights = None
) -> float:
    """Cohen's kappa between two reviewers, optionally weighted by ordinal distance (Cohen 1968).

    Items either reviewer left unrated (-1) are skipped. ``nan`` when fewer than one item or
    when chance disagreement is zero (both reviewers used one identical category). Weights are by
    category index, so a grade nobody gave still counts as a step: this equals sklearn's
    ``cohen_kappa_score(a, b, weights=..., labels=range(k))``, not its default, which weights by
    rank among the grades present.

    >>> round(cohen_kappa([0, 1, 2, 3, 3], [0, 1, 2, 3, 2], weights="quadratic"), 4)
    0.918
    """
    first, second = np.asarray(a).ravel(), np.asarray(b).ravel()
    if len(first) != len(second):
        raise ValidationError(f"{len(first)} ratings from the first reviewer, {len(second)} from the second; "
                              "give both for the same items (-1 = not rated)", where="cohen_kappa")
    r, k = as_ratings(np.column_stack([first, second]), n_categories)
    keep = (r != MISSING).all(axis=1)
    r = r[keep]
    if len(r) == 0:
        return float("nan")
    observed = np.zeros((k, k))
    np.add.at(observed, (r[:, 0], r[:, 1]), 1.0)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    w = _weight_matrix(k, weights)
    denom = float((w * expected).sum())
    if denom == 0.0:
        return float("nan")
    return 1.0 - float((w * observed).sum()) / denom


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa from an ``(n_items, k)`` count table with the same number of ratings per item (Fleiss 1971).

    >>> round(fleiss_kappa([[3, 0], [0, 3], [2, 1]]), 4)
    0.55
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValidationError(f"counts must be a non-empty (items, categories) table, got {c.shape}", where="fleiss")
    bad_cells = ~np.isfinite(c) | (c < 0) | (c != np.round(c))
    if bad_cells.any():
        row, col = (int(v) for v in np.argwhere(bad_cells)[0])
        raise ValidationError(f"count {c[row, col]} is not a whole number >= 0", where=f"fleiss counts row {row}, "
                              f"category {col}")
    m = c.sum(axis=1)
    if np.any(m != m[0]) or m[0] < 2:
        bad = int(np.argmax(m != m[0])) if np.any(m != m[0]) else 0
        raise ValidationError(
            f"Fleiss' kappa needs the same number (>= 2) of ratings per item; item {bad} has {int(m[bad])}, "
            f"item 0 has {int(m[0])} (use krippendorff_alpha for missing ratings)",
            where="fleiss",
        )
    n_raters = m[0]
    p_items = ((c * (c - 1)).sum(axis=1)) / (n_raters * (n_raters - 1))
    p_bar = float(p_items.mean())
    p_cat = c.sum(axis=0) / c.sum()
    p_e = float((p_cat**2).sum())
    if p_e == 1.0:
        return float("nan")
    return (p_bar - p_e) / (1.0 - p_e)


def _coincidences(r: IntArray, k: int) -> FloatArray:
    """Krippendorff's coincidence matrix o_ck over pairable values (units with >= 2 ratings)."""
    counts = rating_counts(r, k).astype(np.float64)
    m = counts.sum(axis=1)
    keep = m >= 2
    counts, m = counts[keep], m[keep]
    scaled = counts / (m - 1.0)[:, None]  # Σ_u (c_u c_uᵀ − diag c_u) / (m_u − 1), as two matrix products
    o: FloatArray = scaled.T @ counts - np.diag(scaled.sum(axis=0))
    return o


def _delta2(n_c: FloatArray, level: Level) -> FloatArray:
    k = len(n_c)
    i, j = np.indices((k, k))
    if level == "nominal":
        return np.asarray(i != j, dtype=np.float64)
    if level == "interval":
        return np.asarray((i - j) ** 2, dtype=np.float64)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        between = cum[hi + 1] - cum[lo]  # sum of n_g for g in lo..hi
        return np.asarray((between - (n_c[i] + n_c[j]) / 2.0) ** 2, dtype=np.float64)
    raise ValidationError(f"level {level!r}; allowed: 'nominal', 'ordinal', 'interval'", where="krippendorff_alpha")


def krippendorff_alpha(ratings: npt.ArrayLike, *, level: Level = "ordinal", n_categories: int | None = None) -> float:
    """Krippendorff's alpha with missing ratings, following Krippendorff (2011).

    ``ratings`` is item-major with -1/NaN for missing. Ordinal uses the rank-based metric
    δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²; interval uses (c − k)² on the category
    indices. ``nan`` when fewer than two pairable values or no expected disagreement.

    >>> A = [[0, 1], [1, 1], [0, 1], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [1, 0], [0, 0]]
    >>> round(krippendorff_alpha(A, level="nominal"), 3)  # Krippendorff 2011, section A
    0.095
    """
    r, k = as_ratings(ratings, n_categories)
    o = _coincidences(r, k)
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    if n < 2:
        return float("nan")
    d2 = _delta2(n_c, level)
    observed = float((o * d2).sum())
    expected = float((np.outer(n_c, n_c) * d2).sum())
    if expected == 0.0:
        return float("nan")
    return 1.0 - (n - 1.0) * observed / expected


def per_class_alpha(ratings: npt.ArrayLike, *, n_categories: int | None = None) -> dict[int, float]:
    """One-vs-rest agreement per category: nominal alpha on 'rated c' vs 'rated something else'."""
    r, k = as_ratings(ratings, n_categories)
    out: dict[int, float] = {}
    for c in range(k):
        binary = np.where(r == MISSING, MISSING, (r == c).astype(np.int64))
        out[c] = krippendorff_alpha(binary, level="nominal", n_categories=2)
    return out


def per_reviewer_kappa(
    ratings: npt.ArrayLike, *, n_categories: int | None = None, weights: Weights = "quadratic"
) -> dict[int, tuple[float, int]]:
    """Each reviewer's (weighted) Cohen's kappa against the consensus of the other reviewers, and the item count.

    The consensus is the median of the others' grades when ``weights`` is set (ordinal), else
    their most frequent grade; items the reviewer did not rate or no one else rated are skipped.
    """
    r, k = as_ratings(ratings, n_categories)
    out: dict[int, tuple[float, int]] = {}
    for j in range(r.shape[1]):  # one pass over all items per reviewer (a Python loop per item took minutes)
        others = np.delete(r, j, axis=1)
        valid = others != MISSING
        n_others = valid.sum(axis=1)
        rows = (r[:, j] != MISSING) & (n_others > 0)
        if not rows.any():  # a lone reviewer, or no item rated by them and someone else
            out[j] = (float("nan"), 0)
            continue
        if weights is not None:  # lower median of the others' grades (missing sorted to the end)
            ranked = np.sort(np.where(valid, others, k), axis=1)
            cons = ranked[np.arange(len(r)), np.maximum(n_others - 1, 0) // 2]
        else:  # their most frequent grade, the lowest index on ties
            cons = rating_counts(others, k).argmax(axis=1)
        mine = r[rows, j]
        kappa = cohen_kappa(mine, cons[rows], n_categories=k, weights=weights) if len(mine) else float("nan")
        out[j] = (kappa, len(mine))
    return out


@dataclass
class AgreementReport:
    """All agreement statistics for one ratings matrix; build it with :func:`agreement_report`.

    Examples
    --------
    >>> rep = agreement_report([[0, 0, 1], [1, 1, 1], [2, 3, 2], [3, 3, 3]], categories=["A", "B", "C", "D"])
    >>> round(rep.alpha, 3), [d.item for d in rep.adjudicate]
    (0.875, [])
    """

    categories: tuple[str, ...]
    n_items: int
    n_reviewers: int
    alpha: float
    """Krippendorff's alpha at ``level``."""
    alpha_nominal: float
    level: Level
    fleiss: float | None
    """Fleiss' kappa over the items every reviewer rated (None when there are fewer than two)."""
    pairwise_kappa: dict[tuple[int, int], float]
    per_class: dict[str, float]
    per_reviewer: dict[int, tuple[float, int]]
    adjudicate: list[Disagreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly summary."""
        return {
            "n_items": self.n_items,
            "n_reviewers": self.n_reviewers,
            "alpha": self.alpha,
            "alpha_nominal": self.alpha_nominal,
            "level": self.level,
            "fleiss_kappa": self.fleiss,
            "pairwise_kappa": {f"{a}-{b}": v for (a, b), v in self.pairwise_kappa.items()},
            "per_class_alpha": self.per_class,
            "per_reviewer_kappa": {str(j): {"kappa": v, "items": n} for j, (v, n) in self.per_reviewer.items()},
            "adjudicate": [{"item": d.item, "reasons": list(d.reasons)} for d in self.adjudicate],
        }


def agreement_report(
    ratings: npt.ArrayLike,
    *,
    categories: Sequence[str],
    ordinal: bool = True,
    max_spread: int = 1,
    require_majority: bool = True,
) -> AgreementReport:
    """Krippendorff's alpha, Fleiss' kappa, pairwise and per-reviewer weighted kappa, per-class alpha, adjudication.

    ``categories`` names the grades, best first: two or more distinct names (with one grade every
    rating agrees and no agreement statistic is defined). Ratings that allow no comparison (no
    items, one reviewer, no item rated twice) give a report of ``nan`` statistics, no Fleiss'
    kappa and an empty adjudication queue, not an error.
    """
    cats = grade_names(categories, "agreement_report", minimum=2)
    k = len(cats)
    r, _ = as_ratings(ratings, k)
    level: Level = "ordinal" if ordinal else "nominal"
    weights: Weights = "quadratic" if ordinal else None
    complete = r[(r != MISSING).all(axis=1)]
    fleiss = fleiss_kappa(rating_counts(complete, k)) if len(complete) >= 2 and r.shape[1] >= 2 else None
    pairwise: dict[tuple[int, int], float] = {}
    for a in range(r.shape[1]):
        for b in range(a + 1, r.shape[1]):
            pairwise[(a, b)] = cohen_kappa(r[:, a], r[:, b], n_categories=k, weights=weights)
    return AgreementReport(
        categories=tuple(cats),
        n_items=r.shape[0],
        n_reviewers=r.shape[1],
        alpha=krippendorff_alpha(r, level=level, n_categories=k),
        alpha_nominal=krippendorff_alpha(r, level="nominal", n_categories=k),
        level=level,
        fleiss=fleiss,
        pairwise_kappa=pairwise,
        per_class={cats[c]: v for c, v in per_class_alpha(r, n_categories=k).items()},
        per_reviewer=per_reviewer_kappa(r, n_categories=k, weights=weights),
        adjudicate=adjudication_queue(r, max_spread=max_spread, require_majority=require_majority),
    )
