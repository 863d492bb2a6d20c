"""Ratings matrices: item-major category indices with ``MISSING`` for 'not rated', built from grade names and checked.

A ratings matrix is ``(n_items, n_reviewers)`` of category indices ``0..k-1`` (for grades:
0 = best), ``-1`` (or NaN) where a reviewer did not rate an item.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = ["MISSING", "encode_ratings", "rating_counts"]

MISSING = -1
"""The code for 'not rated' in a ratings matrix."""

IntArray = npt.NDArray[np.int64]


def grade_names(categories: Sequence[str], where: str, *, minimum: int) -> list[str]:
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
    index = {c: i for i, c in enumerate(grade_names(categories, "encode_ratings", minimum=0))}
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


def as_ratings(ratings: npt.ArrayLike, n_categories: int | None) -> tuple[IntArray, int]:
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


def rating_counts(ratings: npt.ArrayLike, n_categories: int | None = None) -> IntArray:
    """Per-item counts of each category, ``(n_items, k)``; missing ratings are not counted."""
    r, k = as_ratings(ratings, n_categories)
    counts = np.zeros((r.shape[0], k), dtype=np.int64)
    rows, cols = np.nonzero(r != MISSING)
    np.add.at(counts, (rows, r[rows, cols]), 1)
    return counts
