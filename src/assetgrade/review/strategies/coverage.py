"""Strategies that cover the embedding space: k-center core-set, uncertainty-weighted core-set, BADGE-lite.

``coreset``: O. Sener, S. Savarese, "Active Learning for Convolutional Neural Networks: A
Core-Set Approach", ICLR 2018. ``badge``: J. T. Ash et al., "Deep Batch Active Learning by
Diverse, Uncertain Gradient Lower Bounds", ICLR 2020, on the last linear layer only.
"""

from __future__ import annotations

import numpy as np

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
    top_k,
)
from assetgrade.review.strategies.scored import UNCERTAINTY_KINDS, uncertainty

__all__ = ["Badge", "Coreset", "UncertainCoreset"]


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
        rows = max(1, BLOCK_FLOATS // max(len(block) * emb.shape[1], 1))  # (rows, centers, dims) stays near the block
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
        emb = need_embeddings(ctx, self.name)
        pool, k = pool_and_budget(ctx, k)
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
        if uncertainty_kind not in UNCERTAINTY_KINDS:  # it failed only inside select
            raise ValidationError(f"uncertainty_kind={uncertainty_kind!r}; allowed: {', '.join(UNCERTAINTY_KINDS)}",
                                  where="uncertain_coreset.uncertainty_kind")
        self.uncertainty_kind = uncertainty_kind
        self.pool_factor = check_count(pool_factor, "pool_factor", "uncertain_coreset")

    def select(self, ctx: SelectionContext, k: int, rng: np.random.Generator) -> IntArray:
        emb = need_embeddings(ctx, self.name)
        pool, k = pool_and_budget(ctx, k)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        u = uncertainty(ctx.probs, self.uncertainty_kind)
        cand = top_k(pool, u[pool], min(len(pool), max(k, self.pool_factor * k)), rng)
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
        emb = need_embeddings(ctx, self.name)
        pool, k = pool_and_budget(ctx, k)
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
