"""Strategies that rank the pool by one score: random, uncertainty sampling and expected cost.

``least_confidence``, ``margin`` and ``entropy`` follow B. Settles, "Active Learning Literature
Survey", 2009; ``expected_cost`` is the expected cost of the Bayes decision under C[true, pred].
"""

from __future__ import annotations

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.review.strategies.base import (
    FloatArray,
    IntArray,
    SelectionContext,
    pool_and_budget,
    register_strategy,
    top_k,
)

__all__ = [
    "UNCERTAINTY_KINDS", "Entropy", "ExpectedCost", "LeastConfidence", "Margin", "RandomSampling", "default_cost",
    "uncertainty",
]


UNCERTAINTY_KINDS = ("least_confidence", "margin", "entropy")


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
        pool, k = pool_and_budget(ctx, k)
        return top_k(pool, self.score(ctx)[pool], k, rng)


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
        pool, k = pool_and_budget(ctx, k)
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
