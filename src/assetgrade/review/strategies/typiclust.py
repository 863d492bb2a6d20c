"""Low-budget strategies: TypiClust, and the budget switch from TypiClust to the uncertain core-set.

G. Hacohen, A. Dekel, D. Weinshall, "Active Learning on a Budget: Opposite Strategies Suit
High and Low Budgets", ICML 2022.
"""

from __future__ import annotations

import math

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.review.strategies.base import (
    BLOCK_FLOATS,
    FloatArray,
    IntArray,
    SelectionContext,
    need_embeddings,
    pool_and_budget,
    register_strategy,
)
from assetgrade.review.strategies.coverage import UncertainCoreset

__all__ = ["BudgetSwitch", "TypiClust"]


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
        self.knn = knn
        self.max_clusters = max_clusters

    def _typicality(self, x: FloatArray) -> FloatArray:
        n = len(x)
        if n == 1:
            return np.ones(1)
        m = min(self.knn, n - 1)
        rows = max(1, BLOCK_FLOATS // (n * max(x.shape[1], 1)))  # a block of rows at a time: 5,000 items is not 6 GB
        mean_knn = np.empty(n)
        for s in range(0, n, rows):
            d = np.sqrt(np.maximum(((x[s : s + rows, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0))
            nearest = np.sort(np.partition(d, m, axis=1)[:, : m + 1], axis=1)[:, 1:]  # column 0 is the item itself
            mean_knn[s : s + rows] = nearest.mean(axis=1)
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
            typ = self._typicality(emb[members])[free[members]]
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
