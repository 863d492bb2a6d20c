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

The contract and registry live in :mod:`assetgrade.review.strategies.base`, the strategies in
:mod:`~assetgrade.review.strategies.scored` (random, uncertainty, expected cost),
:mod:`~assetgrade.review.strategies.coverage` (coreset, uncertain_coreset, badge) and
:mod:`~assetgrade.review.strategies.typiclust` (typiclust, budget_switch); this module is the
public import path for all of them.
"""

from __future__ import annotations

from assetgrade.review.strategies.base import (
    STRATEGIES,
    SelectionContext,
    SelectionStrategy,
    available_strategies,
    get_strategy,
    register_strategy,
)
from assetgrade.review.strategies.coverage import Badge, Coreset, UncertainCoreset
from assetgrade.review.strategies.scored import (
    Entropy,
    ExpectedCost,
    LeastConfidence,
    Margin,
    RandomSampling,
    default_cost,
    uncertainty,
)
from assetgrade.review.strategies.typiclust import BudgetSwitch, TypiClust

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
