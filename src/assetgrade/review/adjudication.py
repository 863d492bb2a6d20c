"""Adjudication: the items whose reviewers disagree enough (grades far apart, no majority) to need an adjudicator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.review.ratings import MISSING, as_ratings, rating_counts

__all__ = ["Disagreement", "adjudication_queue"]


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
    r, k = as_ratings(ratings, None)
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
