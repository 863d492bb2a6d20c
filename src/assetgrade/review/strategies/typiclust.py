"""Low-budget strategies: TypiClust, and the budget switch from TypiClust to the uncertain core-set.

G. Hacohen, A. Dekel, D. Weinshall, "Active Learning on a Budget: Opposite Strategies Suit
High and Low Budgets", ICML 2022.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.review.strategies.base import (
    BLOCK_FLOATS,
    FloatArray,
    IntArray,
    SelectionContext,
    check_count,
    need_embeddings,
    pool_and_budget,
    register_strategy,
)
from assetgrade.review.strategies.coverage import UncertainCoreset

__all__ = ["BudgetSwitch", "TypiClust"]


_SPARE = 8
"""Candidates screened per row beyond the ``knn`` + 1 nearest, so that ties rarely need the full row."""


def _mean_knn_exact(x: FloatArray, m: int, rows: IntArray) -> FloatArray:
    """Mean distance of each of ``rows`` to its ``m`` nearest other items, measuring every item, in row blocks."""
    n = len(x)
    step = max(1, BLOCK_FLOATS // (n * max(x.shape[1], 1)))  # a block of rows at a time: 5,000 items is not 6 GB
    out = np.empty(len(rows))
    for s in range(0, len(rows), step):
        block = rows[s : s + step]
        d = np.sqrt(np.maximum(((x[block][:, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0))
        nearest = np.sort(np.partition(d, m, axis=1)[:, : m + 1], axis=1)[:, 1:]  # column 0 is the item itself
        out[s : s + step] = nearest.mean(axis=1)
    return out


def _typicality_exact(x: FloatArray, m: int, rows: IntArray) -> FloatArray:
    """Typicality measuring every pair directly: the definition :meth:`TypiClust._typicality` reproduces."""
    out: FloatArray = 1.0 / (_mean_knn_exact(x, m, rows) + 1e-12)
    return out


def _nearest_candidates(
    xc: FloatArray, sq: FloatArray, rows: IntArray, m: int, c: int
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Each row's ``c`` nearest items by a BLAS screen, and whether they surely hold its ``m`` + 1 nearest.

    The screen s = |b|² − 2a·b (the squared distance less the row's constant |a|²) differs from
    the exact squared distance e less |a|² by at most ``tol`` = 8 (d + 4) ε (|a|² + max |b|²)
    (dot products of length d, centring, the direct formula's own rounding, with a factor of two
    to spare). If the (m+1)-th smallest screened value is T, every item among the exact m + 1
    nearest has s ≤ T + 2 tol; so when the ``c``-th smallest screened value is above T + 2 tol,
    the ``c`` candidates hold the exact m + 1 nearest and the exact formula on them gives the same
    values, in the same sorted order, as on all items.
    """
    s = xc[rows] @ xc.T  # in place from here: one (rows, n) array, no temporaries
    s *= -2.0
    s += sq[None, :]
    cand = np.argpartition(s, c - 1, axis=1)[:, :c]
    sc = np.take_along_axis(s, cand, axis=1)
    t = np.partition(sc, m, axis=1)[:, m]
    tol = 8.0 * (xc.shape[1] + 4) * np.finfo(np.float64).eps * (sq[rows] + sq.max())
    ok = sc.max(axis=1) > t + 2.0 * tol
    return cand.astype(np.int64), ok


@register_strategy("typiclust")
class TypiClust:
    """TypiClust (Hacohen et al. 2022): typical items of the largest clusters that hold no label yet.

    Each round clusters every item (labelled or not) into ``labelled + k`` clusters (at most
    ``max_clusters``) with k-means, ranks the clusters by how few labelled items they hold, then
    by size, and takes from each the unlabelled item of highest typicality: the inverse of its
    mean distance to its ``knn`` nearest neighbours in the cluster. Uses no model output.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> emb = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    >>> labeled = np.zeros(40, bool); labeled[0] = True          # the first blob has a label
    >>> ctx = SelectionContext(probs=np.full((40, 2), 0.5), labeled=labeled, embeddings=emb)
    >>> int(TypiClust().select(ctx, 1, np.random.default_rng(0))[0]) >= 20   # so the pick is in the other
    True
    """

    name = "typiclust"

    def __init__(self, *, knn: int = 20, max_clusters: int = 500) -> None:
        self.knn = check_count(knn, "knn", "typiclust")  # 0 or "20" failed only inside select
        self.max_clusters = check_count(max_clusters, "max_clusters", "typiclust")

    def _typicality(self, x: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """1 / (mean distance to the ``knn`` nearest other items of ``x``) of each of ``rows`` (all by default).

        Exactly :func:`_typicality_exact`, bit for bit, but several times faster on large clusters:
        a BLAS product screens each row's nearest candidates (|a|² + |b|² − 2a·b, centred) and only
        those are measured with the exact formula (see :func:`_nearest_candidates`).
        """
        n = len(x)
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        if n == 1:
            return np.ones(len(rows))
        m = min(self.knn, n - 1)
        c = m + 1 + _SPARE
        if n <= c:
            return _typicality_exact(x, m, rows)
        mean_knn = np.empty(len(rows))
        xc = x - x.mean(axis=0)  # centred: smaller norms, smaller rounding in the screen
        sq = np.einsum("ij,ij->i", xc, xc)
        step = max(1, min(BLOCK_FLOATS // n, BLOCK_FLOATS // (c * max(x.shape[1], 1))))
        for s in range(0, len(rows), step):
            block = rows[s : s + step]
            cand, ok = _nearest_candidates(xc, sq, block, m, c)
            d = np.sqrt(np.maximum(((x[block][:, None, :] - x[cand]) ** 2).sum(axis=2), 0.0))  # the exact formula
            nearest = np.sort(d, axis=1)[:, 1 : m + 1]
            part = nearest.mean(axis=1)
            if not ok.all():  # ties at the screen's edge: those rows measure every item
                part[~ok] = _mean_knn_exact(x, m, block[~ok])
            mean_knn[s : s + step] = part
        out: FloatArray = 1.0 / (mean_knn + 1e-12)
        return out

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        from sklearn.cluster import KMeans

        emb = need_embeddings(ctx, self.name)
        pool, k = pool_and_budget(ctx, k)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        n_clusters = int(min(int(ctx.labeled.sum()) + k, self.max_clusters, len(emb)))
        assign = KMeans(n_clusters=n_clusters, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit_predict(emb)
        sizes = np.bincount(assign, minlength=n_clusters)
        n_labeled = np.bincount(assign[ctx.labeled], minlength=n_clusters)
        order = np.lexsort((-sizes, n_labeled))  # fewest labels first, then largest
        free = ~ctx.labeled
        chosen: list[int] = []
        for c in order:
            if len(chosen) == k:
                break
            members = np.flatnonzero(assign == c)
            cand = members[free[members]]
            if not len(cand):
                continue
            typ = self._typicality(emb[members], np.flatnonzero(free[members]))
            chosen.append(int(cand[int(np.argmax(typ))]))
        if len(chosen) < k:  # fewer clusters with free items than slots: fill uniformly
            rest = np.setdiff1d(pool, np.asarray(chosen, dtype=np.int64))
            chosen += rng.choice(rest, size=k - len(chosen), replace=False).tolist()
        return np.asarray(chosen, dtype=np.int64)


@register_strategy("budget_switch")
class BudgetSwitch:
    """TypiClust while fewer than ``per_class`` × (number of classes) items are labelled, then uncertain_coreset.

    Hacohen et al. (2022) show the best policy flips with the budget: typical items first,
    uncertain ones once the model is worth trusting. The switch point here is a count of labels
    per class; ``bench active`` measures it against both parts (docs/benchmarks.md).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> emb = rng.normal(size=(30, 2))
    >>> labeled = np.zeros(30, bool); labeled[:4] = True
    >>> ctx = SelectionContext(probs=np.full((30, 2), 0.5), labeled=labeled, embeddings=emb)
    >>> BudgetSwitch(per_class=3).phase(ctx), BudgetSwitch(per_class=2).phase(ctx)
    ('typiclust', 'uncertain_coreset')
    """

    name = "budget_switch"

    def __init__(self, *, per_class: float = 10.0, knn: int = 20, pool_factor: int = 5) -> None:
        if not (math.isfinite(per_class) and per_class >= 0):  # nan compared False: it silently never switched
            raise ValidationError(f"per_class must be a finite number >= 0, got {per_class}", where="budget_switch")
        self.per_class = per_class
        self.low = TypiClust(knn=knn)
        self.high = UncertainCoreset(pool_factor=pool_factor)

    def phase(self, ctx: SelectionContext) -> str:
        """Which strategy the next batch comes from."""
        return "typiclust" if int(ctx.labeled.sum()) < self.per_class * ctx.probs.shape[1] else "uncertain_coreset"

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        part = self.low if self.phase(ctx) == "typiclust" else self.high
        return part.select(ctx, k, rng)
