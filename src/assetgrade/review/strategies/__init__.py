"""Active-learning strategies, one family per module; use them through :mod:`assetgrade.review.selection`."""

from assetgrade.review.strategies import coverage, scored, typiclust  # noqa: F401  (each registers its strategies)
