"""Reviewer agreement on ordinal grades: weighted Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, adjudication.

Ratings are an item-major integer matrix ``(n_items, n_reviewers)`` of category indices
``0..k-1`` (for grades: 0 = best), with ``-1`` where a reviewer did not rate an item; use
:func:`encode_ratings` to build one from grade names. References:

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

MISSING = -1
"""The code for 'not rated' in a ratings matrix."""

Weights = Literal["linear", "quadratic"] | None
Level = Literal["nominal", "ordinal", "interval"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _grade_names(categories: Sequence[str], where: str, *, minimum: int) -> list[str]:
    """The grade names as a list, refusing a bare string, too few names or a name listed twice."""
    if isinstance(categories, str):
        raise ValidationError(f"must be a list of grade names, got the string {categories!r}",
                              where=f"{where}: categories")
    cats = list(categories)
    if len(cats) < minimum:
        raise ValidationError(
            f"got {cats!r}; agreement needs at least {minimum} grades (with one every rating is the same grade, "
            "and kappa and alpha are undefined)", where=f"{where}: categories")
    first: dict[str, int] = {}
    for i, c in enumerate(cats):
        if c in first:
            raise ValidationError(f"grade {c!r} is listed twice (first at {first[c]}); each grade is one category",
                                  where=f"{where}: categories[{i}]")
        first[c] = i
    return cats


def encode_ratings(rows: Sequence[Sequence[str | None]], categories: Sequence[str]) -> IntArray:
    """Grade names (None = not rated) to the integer ratings matrix; unknown names raise naming row and column.

    >>> encode_ratings([["A", "B"], ["C", None]], ["A", "B", "C", "D"]).tolist()
    [[0, 1], [2, -1]]
    """
    index = {c: i for i, c in enumerate(_grade_names(categories, "encode_ratings", minimum=0))}
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), MISSING, dtype=np.int64)
    for i, row in enumerate(rows):
        for j, val in enumerate(row):
            if val is None or val == "":
                continue
            if val not in index:
                raise ValidationError(
                    f"unknown grade {val!r}; allowed: {list(categories)}", where=f"ratings row {i}, reviewer {j}"
                )
            out[i, j] = index[val]
    return out


def _as_ratings(ratings: npt.ArrayLike, n_categories: int | None) -> tuple[IntArray, int]:
    arr = np.asarray(ratings, dtype=np.float64)
    if arr.ndim != 2:
        raise ValidationError(f"ratings must be 2-D (items, reviewers), got shape {arr.shape}", where="ratings")
    arr = np.where(np.isnan(arr), MISSING, arr)
    if np.isinf(arr).any():  # cast to int64 it became -9223372036854775808 and was reported as that category
        bad = np.argwhere(np.isinf(arr))[0]
        raise ValidationError(f"rating {arr[tuple(bad)]} is not a category index",
                              where=f"ratings row {bad[0]}, reviewer {bad[1]}")
    if np.any(arr != np.round(arr)):
        raise ValidationError("ratings must be integer category indices (-1 or NaN = missing)", where="ratings")
    if n_categories is not None and (isinstance(n_categories, bool) or not isinstance(n_categories, (int, np.integer))
                                     or n_categories < 1):
        raise ValidationError(f"n_categories {n_categories!r}; allowed: a whole number >= 1", where="n_categories")
    out = arr.astype(np.int64)
    if np.any(out < MISSING):
        bad = np.argwhere(out < MISSING)[0]
        raise ValidationError(f"negative category {out[tuple(bad)]}", where=f"ratings row {bad[0]}, reviewer {bad[1]}")
    largest = int(out.max()) if out.size else MISSING  # no ratings at all (0 items or 0 reviewers): nan or nothing
    k = largest + 1 if n_categories is None else n_categories
    if out.size and out.max() >= k:
        bad = np.argwhere(out >= k)[0]
        raise ValidationError(
            f"category {out[tuple(bad)]} outside 0..{k - 1}", where=f"ratings row {bad[0]}, reviewer {bad[1]}"
        )
    return out, max(k, 1)


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
    when chance disagreement is zero (both reviewers used one identical category).

    >>> round(cohen_kappa([0, 1, 2, 3, 3], [0, 1, 2, 3, 2], weights="quadratic"), 4)
    0.918
    """
    first, second = np.asarray(a).ravel(), np.asarray(b).ravel()
    if len(first) != len(second):
        raise ValidationError(f"{len(first)} ratings from the first reviewer, {len(second)} from the second; "
                              "give both for the same items (-1 = not rated)", where="cohen_kappa")
    r, k = _as_ratings(np.column_stack([first, second]), n_categories)
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


def rating_counts(ratings: npt.ArrayLike, n_categories: int | None = None) -> IntArray:
    """Per-item counts of each category, ``(n_items, k)``; missing ratings are not counted."""
    r, k = _as_ratings(ratings, n_categories)
    counts = np.zeros((r.shape[0], k), dtype=np.int64)
    rows, cols = np.nonzero(r != MISSING)
    np.add.at(counts, (rows, r[rows, cols]), 1)
    return counts


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
    r, k = _as_ratings(ratings, n_categories)
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
    r, k = _as_ratings(ratings, n_categories)
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
    r, k = _as_ratings(ratings, n_categories)
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


@dataclass(frozen=True)
class Disagreement:
    """An item whose reviewers disagree enough to need an adjudicator."""

    item: int
    ratings: tuple[int, ...]
    spread: int
    """Worst minus best grade among the ratings."""
    majority: int | None
    """The grade more than half the reviewers gave, if any."""
    reasons: tuple[str, ...]


def adjudication_queue(
    ratings: npt.ArrayLike, *, max_spread: int = 1, require_majority: bool = True
) -> list[Disagreement]:
    """Items to adjudicate: ratings more than ``max_spread`` grades apart (e.g. A and C), or no strict majority.

    Items with fewer than two ratings are never flagged. Sorted by spread, widest first.

    >>> [d.item for d in adjudication_queue([[0, 0, 1], [0, 2, 0], [0, 1, -1], [3, 3, 3]])]
    [1, 2]
    """
    if isinstance(max_spread, bool) or not isinstance(max_spread, (int, np.integer)) or max_spread < 0:
        raise ValidationError(f"max_spread {max_spread!r}; allowed: a whole number of grades >= 0",
                              where="adjudication_queue")
    r, k = _as_ratings(ratings, None)
    counts = rating_counts(r, k)  # every item at once; only the flagged ones become Python objects
    n_rated = counts.sum(axis=1)
    present = counts > 0
    best = present.argmax(axis=1)
    worst = k - 1 - present[:, ::-1].argmax(axis=1)
    spreads = np.where(n_rated > 0, worst - best, 0)
    top = counts.argmax(axis=1)  # the lowest grade on ties
    has_majority = counts[np.arange(len(r)), top] * 2 > n_rated
    flagged = (n_rated >= 2) & ((spreads > max_spread) | (require_majority & ~has_majority))
    out: list[Disagreement] = []
    for i in np.flatnonzero(flagged).tolist():
        vals = r[i][r[i] != MISSING]
        spread = int(spreads[i])
        majority = int(top[i]) if has_majority[i] else None
        reasons = []
        if spread > max_spread:
            reasons.append(f"ratings {spread} grades apart")
        if require_majority and majority is None:
            reasons.append("no majority")
        out.append(Disagreement(i, tuple(int(v) for v in vals), spread, majority, tuple(reasons)))
    out.sort(key=lambda d: (-d.spread, d.item))
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
    cats = _grade_names(categories, "agreement_report", minimum=2)
    k = len(cats)
    r, _ = _as_ratings(ratings, k)
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
