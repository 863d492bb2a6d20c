"""The selection contract: :class:`SelectionContext`, the :class:`SelectionStrategy` protocol, the strategy registry.

Also the small pieces every strategy shares: the pool and budget of a call, top-k with seeded
tie-breaking, and the embedding check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.review.label_noise import SUM_TOLERANCE, distribution_rows

__all__ = [
    "STRATEGIES",
    "SelectionContext",
    "SelectionStrategy",
    "available_strategies",
    "check_count",
    "get_strategy",
    "register_strategy",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BLOCK_FLOATS = 1 << 22
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
        check_finite(self.probs, "probs", nonnegative=True)
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float64)
            if self.embeddings.ndim != 2 or self.embeddings.shape[0] != self.probs.shape[0]:
                raise ValidationError(
                    f"embeddings {self.embeddings.shape} for {self.probs.shape[0]} items", where="selection context"
                )
            check_finite(self.embeddings, "embeddings", nonnegative=False)
        if self.cost is not None:
            self.cost = np.asarray(self.cost, dtype=np.float64)
            k = self.probs.shape[1]
            if self.cost.shape != (k, k):
                raise ValidationError(f"cost matrix {self.cost.shape}, expected ({k}, {k})", where="selection context")
            check_finite(self.cost, "cost", nonnegative=False)
        check_distributions(self.probs)

    @property
    def unlabeled(self) -> IntArray:
        """Indices of the items still without a label."""
        return np.flatnonzero(~self.labeled).astype(np.int64)


def check_finite(x: FloatArray, what: str, *, nonnegative: bool) -> None:
    """Refuse nan/inf (and, for probabilities, negative values), naming the first bad row: strategies rank by them."""
    bad = ~np.isfinite(x) | (x < 0) if nonnegative else ~np.isfinite(x)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        allowed = "finite and >= 0" if nonnegative else "finite"
        raise ValidationError(f"{what} value {x[row, col]} is not allowed; it must be {allowed}",
                              where=f"selection context {what} row {row}")


def check_distributions(probs: FloatArray) -> None:
    """Refuse a row of ``probs`` that does not sum to 1 within ``SUM_TOLERANCE``, naming it.

    Least confidence, margin, entropy and expected cost are formulas on distributions (Settles 2009): an
    all-zero row (no prediction) was ranked first by least confidence and last by entropy.
    """
    bad = np.flatnonzero(~distribution_rows(probs))
    if len(bad):
        row = int(bad[0])
        raise ValidationError(f"probs row sums to {probs[row].sum():.6g}; each row must be a probability distribution "
                              f"summing to 1 (within {SUM_TOLERANCE})" + (f"; {len(bad)} such rows" if len(bad) > 1
                                                                           else ""),
                              where=f"selection context probs row {row}")


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


def pool_and_budget(ctx: SelectionContext, k: int) -> tuple[IntArray, int]:
    pool = ctx.unlabeled
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValidationError(f"k must be an integer >= 0, got {k!r}", where="select")
    return pool, min(int(k), len(pool))


def top_k(pool: IntArray, score: FloatArray, k: int, rng: np.random.Generator) -> IntArray:
    """The k highest-scoring pool items; ties broken by a random permutation from ``rng``."""
    perm = rng.permutation(len(pool))
    order = perm[np.argsort(-score[perm], kind="stable")]
    return pool[order[:k]]



def need_embeddings(ctx: SelectionContext, who: str) -> FloatArray:
    if ctx.embeddings is None:
        raise ValidationError(f"strategy {who!r} needs embeddings in the selection context", where="strategy")
    return ctx.embeddings


def check_count(value: object, name: str, where: str, *, least: int = 1) -> int:
    """``value`` as an int when it is a whole number >= ``least`` (not a bool); else a ValidationError naming it.

    >>> check_count(20, "knn", "typiclust")
    20
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValidationError(f"{name}={value!r} must be an integer >= {least}", where=f"{where}.{name}")
    return int(value)
