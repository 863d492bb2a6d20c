"""Active-learning strategies: which unlabelled items a reviewer should label next.

Every strategy follows one contract (:class:`SelectionStrategy`): given a
:class:`SelectionContext` (class probabilities for every item, which items are labelled,
optional embeddings and cost matrix), ``select(ctx, k, rng)`` returns ``k`` distinct indices of
unlabelled items, deterministic for a seeded generator. Strategies are registered by name.

- ``random``: uniform sampling (the baseline).
- ``least_confidence``, ``margin``, ``entropy``: uncertainty sampling (B. Settles, "Active
  Learning Literature Survey", 2009).
- ``expected_cost``: the expected cost of the Bayes decision under a cost matrix
  C[true, pred], min_j Σ_i p_i C[i, j]; labelling the item removes that cost, so this is the
  myopic expected cost reduction. Default costs: |i − j| for ordinal grades, else 0/1.
- ``coreset``: k-center greedy over embeddings (O. Sener, S. Savarese, "Active Learning for
  Convolutional Neural Networks: A Core-Set Approach", ICLR 2018).
- ``uncertain_coreset``: diversity-aware batches: k-center greedy restricted to the most
  uncertain candidates, with distances weighted by uncertainty.
- ``badge``: k-means++ seeding on gradient embeddings (p − onehot(ŷ)) ⊗ x (J. T. Ash et al.,
  "Deep Batch Active Learning by Diverse, Uncertain Gradient Lower Bounds", ICLR 2020),
  here on the last linear layer only ("BADGE-lite").
- ``typiclust``: the most typical item of each of the largest clusters holding no label yet
  (G. Hacohen, A. Dekel, D. Weinshall, "Active Learning on a Budget: Opposite Strategies Suit
  High and Low Budgets", ICML 2022). Uncertainty needs a model worth trusting; with few labels
  it is not, and covering the data's dense regions pays more.
- ``budget_switch``: ``typiclust`` while the labelled set is small (fewer than
  ``per_class`` labels per class on average), ``uncertain_coreset`` after: the paper's
  low-budget / high-budget advice as one policy for a review team that does not want to pick
  the switch point by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = [
    "STRATEGIES",
    "Badge",
    "BudgetSwitch",
    "Coreset",
    "Entropy",
    "ExpectedCost",
    "LeastConfidence",
    "Margin",
    "RandomSampling",
    "SelectionContext",
    "SelectionStrategy",
    "TypiClust",
    "UncertainCoreset",
    "available_strategies",
    "default_cost",
    "get_strategy",
    "register_strategy",
    "uncertainty",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_BLOCK = 1 << 22
"""Most floats one pairwise-distance step holds at once (32 MiB): 100,000 items never need n x n x d."""


@dataclass
class SelectionContext:
    """What a strategy may look at.

    Examples
    --------
    >>> ctx = SelectionContext(probs=np.array([[0.5, 0.5], [0.9, 0.1], [0.6, 0.4]]), labeled=np.array([0, 0, 1], bool))
    >>> ctx.unlabeled.tolist()
    [0, 1]
    """

    probs: FloatArray
    """Predicted class probabilities for every item (n, k)."""
    labeled: npt.NDArray[np.bool_]
    """Which items already carry a label."""
    embeddings: FloatArray | None = None
    """Item embeddings (n, d), needed by the diversity strategies."""
    cost: FloatArray | None = None
    """Cost matrix C[true, pred] (k, k) for ``expected_cost``."""
    ordinal: bool = False

    def __post_init__(self) -> None:
        self.probs = np.asarray(self.probs, dtype=np.float64)
        self.labeled = np.asarray(self.labeled, dtype=bool)
        if self.probs.ndim != 2 or self.labeled.shape != (self.probs.shape[0],):
            raise ValidationError(
                f"probs {self.probs.shape} and labeled {self.labeled.shape} do not match", where="selection context"
            )
        if self.probs.shape[1] < 1:
            raise ValidationError(f"probs {self.probs.shape} has no class column", where="selection context")
        _check_finite(self.probs, "probs", nonnegative=True)
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float64)
            if self.embeddings.ndim != 2 or self.embeddings.shape[0] != self.probs.shape[0]:
                raise ValidationError(
                    f"embeddings {self.embeddings.shape} for {self.probs.shape[0]} items", where="selection context"
                )
            _check_finite(self.embeddings, "embeddings", nonnegative=False)
        if self.cost is not None:
            self.cost = np.asarray(self.cost, dtype=np.float64)
            k = self.probs.shape[1]
            if self.cost.shape != (k, k):
                raise ValidationError(f"cost matrix {self.cost.shape}, expected ({k}, {k})", where="selection context")
            _check_finite(self.cost, "cost", nonnegative=False)

    @property
    def unlabeled(self) -> IntArray:
        """Indices of the items still without a label."""
        return np.flatnonzero(~self.labeled).astype(np.int64)


def _check_finite(x: FloatArray, what: str, *, nonnegative: bool) -> None:
    """Refuse nan/inf (and, for probabilities, negative values), naming the first bad row: strategies rank by them."""
    bad = ~np.isfinite(x) | (x < 0) if nonnegative else ~np.isfinite(x)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        allowed = "finite and >= 0" if nonnegative else "finite"
        raise ValidationError(f"{what} value {x[row, col]} is not allowed; it must be {allowed}",
                              where=f"selection context {what} row {row}")


@runtime_checkable
class SelectionStrategy(Protocol):
    """Chooses ``k`` distinct unlabelled items to label next."""

    name: str

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray: ...


S = TypeVar("S", bound=type)
STRATEGIES: dict[str, type] = {}
"""Registered strategy classes by name."""


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator adding a strategy to the registry under ``name``."""

    def deco(cls: S) -> S:
        STRATEGIES[name] = cls
        cls.name = name  # type: ignore[attr-defined]
        return cls

    return deco


def get_strategy(name: str, **params: object) -> SelectionStrategy:
    """A strategy instance by registered name; an unknown name lists the known ones."""
    if name not in STRATEGIES:
        raise ValidationError(f"unknown strategy {name!r}; known: {sorted(STRATEGIES)}", where="strategy")
    strategy: SelectionStrategy = STRATEGIES[name](**params)
    return strategy


def available_strategies() -> list[str]:
    """Registered strategy names."""
    return sorted(STRATEGIES)


def _budget(ctx: SelectionContext, k: int) -> tuple[IntArray, int]:
    pool = ctx.unlabeled
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValidationError(f"k must be an integer >= 0, got {k!r}", where="select")
    return pool, min(int(k), len(pool))


def _top(pool: IntArray, score: FloatArray, k: int, rng: np.random.Generator) -> IntArray:
    """The k highest-scoring pool items; ties broken by a random permutation from ``rng``."""
    perm = rng.permutation(len(pool))
    order = perm[np.argsort(-score[perm], kind="stable")]
    return pool[order[:k]]


def uncertainty(probs: FloatArray, kind: str = "least_confidence") -> FloatArray:
    """Per-item uncertainty: ``least_confidence`` 1 − max p, ``margin`` 1 − (p1 − p2), or ``entropy``."""
    p = np.asarray(probs, dtype=np.float64)
    out: FloatArray
    if kind == "least_confidence":
        out = 1.0 - p.max(axis=1)
    elif kind == "margin":
        s = np.sort(p, axis=1)
        second = s[:, -2] if p.shape[1] > 1 else np.zeros(len(p))  # one grade only: nothing to hesitate between
        out = 1.0 - (s[:, -1] - second)
    elif kind == "entropy":
        out = -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=1)
    else:
        raise ValidationError(f"uncertainty {kind!r}; allowed: least_confidence, margin, entropy", where="uncertainty")
    return out


class _Scored:
    """Base for strategies that rank the pool by one score."""

    name = "scored"

    def score(self, ctx: SelectionContext) -> FloatArray:
        raise NotImplementedError

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        pool, k = _budget(ctx, k)
        return _top(pool, self.score(ctx)[pool], k, rng)


@register_strategy("random")
class RandomSampling:
    """Uniformly random unlabelled items.

    Examples
    --------
    >>> ctx = SelectionContext(probs=np.full((5, 2), 0.5), labeled=np.zeros(5, bool))
    >>> len(RandomSampling().select(ctx, 3, np.random.default_rng(0)))
    3
    """

    name = "random"

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        pool, k = _budget(ctx, k)
        return np.sort(rng.choice(pool, size=k, replace=False)).astype(np.int64)


@register_strategy("least_confidence")
class LeastConfidence(_Scored):
    """Items whose most probable class is least probable.

    Examples
    --------
    >>> ctx = SelectionContext(probs=np.array([[0.9, 0.1], [0.5, 0.5]]), labeled=np.zeros(2, bool))
    >>> LeastConfidence().select(ctx, 1, np.random.default_rng(0)).tolist()
    [1]
    """

    name = "least_confidence"

    def score(self, ctx: SelectionContext) -> FloatArray:
        return uncertainty(ctx.probs, "least_confidence")


@register_strategy("margin")
class Margin(_Scored):
    """Items with the smallest gap between the two most probable classes.

    Examples
    --------
    >>> ctx = SelectionContext(probs=np.array([[0.5, 0.4, 0.1], [0.4, 0.3, 0.3]]), labeled=np.zeros(2, bool))
    >>> Margin().select(ctx, 1, np.random.default_rng(0)).tolist()
    [0]
    """

    name = "margin"

    def score(self, ctx: SelectionContext) -> FloatArray:
        return uncertainty(ctx.probs, "margin")


@register_strategy("entropy")
class Entropy(_Scored):
    """Items with the highest predictive entropy.

    Examples
    --------
    >>> ctx = SelectionContext(probs=np.array([[0.5, 0.4, 0.1], [0.4, 0.3, 0.3]]), labeled=np.zeros(2, bool))
    >>> Entropy().select(ctx, 1, np.random.default_rng(0)).tolist()
    [1]
    """

    name = "entropy"

    def score(self, ctx: SelectionContext) -> FloatArray:
        return uncertainty(ctx.probs, "entropy")


def default_cost(k: int, ordinal: bool) -> FloatArray:
    """|i − j| grade steps for ordinal grades, else 0/1."""
    i, j = np.indices((k, k))
    return np.asarray(np.abs(i - j) if ordinal else i != j, dtype=np.float64)


@register_strategy("expected_cost")
class ExpectedCost(_Scored):
    """Items whose Bayes decision has the highest expected cost under C[true, pred] (labelling removes it).

    Examples
    --------
    >>> probs = np.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
    >>> ctx = SelectionContext(probs=probs, labeled=np.zeros(2, bool), ordinal=True)
    >>> ExpectedCost().select(ctx, 1, np.random.default_rng(0)).tolist()  # A-or-C costs more than A-or-B
    [0]
    """

    name = "expected_cost"

    def score(self, ctx: SelectionContext) -> FloatArray:
        cost = ctx.cost if ctx.cost is not None else default_cost(ctx.probs.shape[1], ctx.ordinal)
        return np.asarray((ctx.probs @ cost).min(axis=1), dtype=np.float64)


def _kcenter(
    emb: FloatArray,
    centers: IntArray,
    candidates: IntArray,
    k: int,
    weight: FloatArray | None,
    rng: np.random.Generator,
) -> IntArray:
    """Greedy k-center: repeatedly take the candidate farthest (× weight) from every center so far."""
    cand = emb[candidates]
    d = np.full(len(candidates), np.inf)
    for s in range(0, len(centers), 512):
        block = emb[centers[s : s + 512]]
        rows = max(1, _BLOCK // max(len(block) * emb.shape[1], 1))  # (rows, centers, dims) stays near _BLOCK floats
        for r in range(0, len(candidates), rows):
            dd = ((cand[r : r + rows, None, :] - block[None, :, :]) ** 2).sum(axis=2).min(axis=1)
            d[r : r + rows] = np.minimum(d[r : r + rows], dd)
    w = weight if weight is not None else np.ones(len(candidates))
    chosen: list[int] = []
    for _ in range(k):
        if not len(centers) and not chosen:
            best = int(np.argmax(w + 1e-9 * rng.random(len(w))))  # no centers yet: the most uncertain item
        else:
            score = d * w
            score[chosen] = -np.inf
            best = int(np.argmax(score))
        chosen.append(best)
        d = np.minimum(d, ((cand - cand[best]) ** 2).sum(axis=1))
    return candidates[np.asarray(chosen, dtype=np.int64)]


def _need_embeddings(ctx: SelectionContext, who: str) -> FloatArray:
    if ctx.embeddings is None:
        raise ValidationError(f"strategy {who!r} needs embeddings in the selection context", where="strategy")
    return ctx.embeddings


@register_strategy("coreset")
class Coreset:
    """k-center greedy core-set over embeddings (Sener & Savarese 2018): cover the pool, ignore uncertainty.

    Examples
    --------
    >>> emb = np.array([[0.0], [0.1], [5.0], [10.0]])
    >>> ctx = SelectionContext(probs=np.full((4, 2), 0.5), labeled=np.array([1, 0, 0, 0], bool), embeddings=emb)
    >>> Coreset().select(ctx, 2, np.random.default_rng(0)).tolist()
    [3, 2]
    """

    name = "coreset"

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        emb = _need_embeddings(ctx, self.name)
        pool, k = _budget(ctx, k)
        return _kcenter(emb, np.flatnonzero(ctx.labeled).astype(np.int64), pool, k, None, rng)


@register_strategy("uncertain_coreset")
class UncertainCoreset:
    """Diversity-aware batch: k-center greedy over the ``pool_factor``·k most uncertain items, distances × uncertainty.

    Parameters
    ----------
    uncertainty_kind : "margin" (default), "least_confidence" or "entropy".
    pool_factor : how many candidates per slot to consider (the top uncertain ones).

    Examples
    --------
    >>> emb = np.array([[0.0], [0.1], [0.2], [9.0]])
    >>> probs = np.array([[0.5, 0.5], [0.55, 0.45], [0.6, 0.4], [0.65, 0.35]])
    >>> ctx = SelectionContext(probs=probs, labeled=np.zeros(4, bool), embeddings=emb)
    >>> sorted(UncertainCoreset(pool_factor=2).select(ctx, 2, np.random.default_rng(0)).tolist())
    [0, 3]
    """

    name = "uncertain_coreset"

    def __init__(self, *, uncertainty_kind: str = "margin", pool_factor: int = 5) -> None:
        self.uncertainty_kind = uncertainty_kind
        self.pool_factor = pool_factor

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        emb = _need_embeddings(ctx, self.name)
        pool, k = _budget(ctx, k)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        u = uncertainty(ctx.probs, self.uncertainty_kind)
        cand = _top(pool, u[pool], min(len(pool), max(k, self.pool_factor * k)), rng)
        w = u[cand] / max(float(u[cand].max()), 1e-12)
        return _kcenter(emb, np.flatnonzero(ctx.labeled).astype(np.int64), cand, k, w + 1e-6, rng)


@register_strategy("badge")
class Badge:
    """BADGE-lite: k-means++ seeding on last-layer gradient embeddings (p − onehot(ŷ)) ⊗ x (Ash et al. 2020).

    Examples
    --------
    >>> emb = np.eye(4)
    >>> ctx = SelectionContext(probs=np.full((4, 2), 0.5), labeled=np.zeros(4, bool), embeddings=emb)
    >>> len(set(Badge().select(ctx, 3, np.random.default_rng(0)).tolist()))
    3
    """

    name = "badge"

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        emb = _need_embeddings(ctx, self.name)
        pool, k = _budget(ctx, k)
        if k == 0:  # an empty pool has no gradient embeddings to reshape
            return np.zeros(0, dtype=np.int64)
        p = ctx.probs[pool]
        g = p.copy()
        g[np.arange(len(pool)), p.argmax(axis=1)] -= 1.0
        grad = (g[:, :, None] * emb[pool][:, None, :]).reshape(len(pool), -1)
        norms = (grad**2).sum(axis=1)
        chosen = [int(np.argmax(norms))]
        d = ((grad - grad[chosen[0]]) ** 2).sum(axis=1)
        while len(chosen) < k:
            d[chosen] = 0.0
            total = d.sum()
            nxt = (
                int(rng.choice(len(pool), p=d / total))
                if total > 0
                else int(rng.choice(np.setdiff1d(np.arange(len(pool)), chosen)))
            )
            chosen.append(nxt)
            d = np.minimum(d, ((grad - grad[nxt]) ** 2).sum(axis=1))
        return pool[np.asarray(chosen, dtype=np.int64)]


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
        rows = max(1, _BLOCK // (n * max(x.shape[1], 1)))  # a block of rows at a time: a cluster of 5,000 is not 6 GB
        mean_knn = np.empty(n)
        for s in range(0, n, rows):
            d = np.sqrt(np.maximum(((x[s : s + rows, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0))
            nearest = np.sort(np.partition(d, m, axis=1)[:, : m + 1], axis=1)[:, 1:]  # column 0 is the item itself
            mean_knn[s : s + rows] = nearest.mean(axis=1)
        out: FloatArray = 1.0 / (mean_knn + 1e-12)
        return out

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        from sklearn.cluster import KMeans

        emb = _need_embeddings(ctx, self.name)
        pool, k = _budget(ctx, k)
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
