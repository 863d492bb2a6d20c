"""Multiple-instance learning of the ordinal image head for assets photographed more than once.

An asset's image label (its grade, or its own image level) is taken to be the level of its
**worst** photo: the others may show less. Labelling every photo with the asset's level, as the
plain head does, teaches it that clean photos of a worn asset are worn. Here the photos' levels
are latent and learned by expectation-maximisation (Dempster, Laird & Rubin 1977) under the
"max" rule of ordinal multiple-instance learning (Dietterich, Lathrop & Lozano-Pérez 1997 for the
binary case; Ray & Craven 2005 compare such EM-style learners):

- E-step: with the head's current distributions q_i over each photo's level and the asset's
  level g, the posterior of photo i's level given max_j l_j = g is, with F_j(g) = P(l_j ≤ g),
  P(l_i = l | max = g) ∝ q_i(l) · [Π_{j≠i} F_j(g) − Π_{j≠i} F_j(g−1)] for l < g,
  q_i(g) · Π_{j≠i} F_j(g) for l = g, and 0 above g.
- M-step: the head (ordinal, or multinomial logistic with ``head="logistic"``) is refitted on
  every (photo, level) pair weighted by that posterior (the ordinal head warm-started from the
  previous fit).

An asset with one photo keeps its label exactly, so single-photo data sets fit as before. At
prediction the asset's level distribution is that of the maximum of its photos' levels,
P(max ≤ g) = Π_i F_i(g) (photos independent given the head), instead of the worst photo's own
distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.heads import LinearProbe, OrdinalLogistic

__all__ = ["MILOrdinal", "bag_max_proba", "max_posterior"]

FloatArray = npt.NDArray[np.float64]


def max_posterior(q: npt.ArrayLike, level: int) -> FloatArray:
    """Posterior over each photo's level given that the worst of them is ``level``.

    ``q``: (photos, levels) distributions. Rows sum to 1; levels above ``level`` get 0.

    >>> p = max_posterior([[0.5, 0.5], [0.5, 0.5]], 1)  # one of two fair coins shows 1
    >>> p.round(3).tolist()
    [[0.333, 0.667], [0.333, 0.667]]
    >>> max_posterior([[0.9, 0.1]], 1).tolist()  # a single photo keeps the asset's level
    [[0.0, 1.0]]
    """
    qa = np.clip(np.asarray(q, dtype=np.float64), 1e-12, None)
    qa = qa / qa.sum(axis=1, keepdims=True)
    n, k = qa.shape
    if not 0 <= level < k:
        raise ValidationError(f"level {level} outside 0..{k - 1}", where="max_posterior")
    cdf = np.cumsum(qa, axis=1)
    others_at = _prod_of_others(cdf[:, level])
    others_below = _prod_of_others(cdf[:, level - 1]) if level > 0 else np.zeros(n)
    post = np.zeros_like(qa)
    post[:, :level] = qa[:, :level] * np.clip(others_at - others_below, 0.0, None)[:, None]
    post[:, level] = qa[:, level] * others_at
    total = post.sum(axis=1, keepdims=True)
    fallback = np.zeros(k)
    fallback[level] = 1.0
    return np.where(total > 0, post / np.clip(total, 1e-300, None), fallback)  # type: ignore[no-any-return]


def _prod_of_others(v: FloatArray) -> FloatArray:
    """Per position i, the product of every other entry (prefix times suffix products; no division).

    >>> _prod_of_others(np.array([2.0, 0.0, 3.0])).tolist()
    [0.0, 6.0, 0.0]
    """
    before = np.r_[1.0, np.cumprod(v[:-1])]
    after = np.r_[np.cumprod(v[::-1][:-1])[::-1], 1.0]
    return before * after  # type: ignore[no-any-return]


def bag_max_proba(q: npt.ArrayLike) -> FloatArray:
    """Distribution of the worst level among photos with independent level distributions ``q``.

    >>> bag_max_proba([[0.5, 0.5], [0.5, 0.5]]).tolist()
    [0.25, 0.75]
    """
    qa = np.asarray(q, dtype=np.float64)
    cdf = np.prod(np.clip(np.cumsum(qa, axis=1), 0.0, 1.0), axis=0)
    cdf[-1] = 1.0
    return np.diff(np.r_[0.0, cdf])  # type: ignore[no-any-return]


class MILOrdinal:
    """Ordinal image head learned from asset-level labels under the worst-photo rule (module docstring).

    Parameters
    ----------
    n_classes : int
        Levels.
    C : float
        Inverse L2 strength of the head.
    head : {"ordinal", "logistic"}
        The photo head: :class:`OrdinalLogistic` (default) or :class:`LinearProbe`.
    n_iter : int
        EM rounds after the first (plain) fit.
    tol : float
        Stop when no photo's posterior moves by more than this.

    Attributes
    ----------
    head_ : OrdinalLogistic or LinearProbe
    n_iter_ : int
        EM rounds run.
    shift_ : list[float]
        Largest posterior change per round.
    posterior_ : ndarray, shape (photos, n_classes)
        The last E-step's distribution over each training photo's level.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> levels = rng.integers(0, 2, 200); X = levels[:, None] + rng.normal(0, 0.3, (200, 1))
    >>> bags = np.repeat(np.arange(50), 4); y = np.array([levels[bags == b].max() for b in range(50)])
    >>> m = MILOrdinal(n_classes=2, C=1.0).fit(X, bags, y)
    >>> float((m.head_.predict(X) == levels).mean()) > 0.9
    True
    """

    def __init__(self, *, n_classes: int, C: float = 0.02, n_iter: int = 5, tol: float = 1e-3,
                 head: Literal["ordinal", "logistic"] = "ordinal") -> None:
        if head not in ("ordinal", "logistic"):
            raise ValidationError(f"head {head!r}; allowed: 'ordinal', 'logistic'", where="MILOrdinal")
        self.head = head
        self.n_classes = n_classes
        self.C = C
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, X: npt.ArrayLike, bags: Sequence[int] | npt.ArrayLike, bag_levels: Sequence[int] | npt.ArrayLike,
            *, views: int = 1) -> Self:
        """``X``: one row per photo; ``bags``: each photo's asset index (0..B-1); ``bag_levels``: each asset's level.

        ``views`` > 1: ``X`` holds ``views`` blocks of rows, each block every photo under one
        label-preserving augmentation (the photos in the order of ``bags``). A photo's copies share
        its latent level: the E-step scores a photo by the mean of its copies' predictions, the
        M-step trains on every copy with the photo's posterior.
        """
        A = np.asarray(X, dtype=np.float64)
        b = np.asarray(bags, dtype=np.int64)
        yb = np.asarray(bag_levels, dtype=np.int64)
        k = self.n_classes
        if views < 1 or A.ndim != 2 or views * len(b) != len(A):
            raise ValidationError(f"{len(A)} rows for {len(b)} photos in {views} view(s)", where="MILOrdinal.fit")
        if len(b) and (b.min() < 0 or b.max() >= len(yb)):
            raise ValidationError(f"asset indices outside 0..{len(yb) - 1}", where="MILOrdinal.fit")
        if len(yb) and (yb.min() < 0 or yb.max() >= k):
            raise ValidationError(f"asset levels outside 0..{k - 1}", where="MILOrdinal.fit")
        members = [np.flatnonzero(b == j) for j in range(len(yb))]
        post = np.eye(k)[yb[b]]
        multi = [m for m in members if len(m) > 1]
        # first E-step without a head: every photo equally likely at every level, so within an asset
        # of level g each photo is at g with the chance that it is the (or a) worst one
        for m in multi:
            post[m] = max_posterior(np.full((len(m), k), 1.0 / k), int(yb[b[m[0]]]))
        levels = np.tile(np.arange(k), len(A))
        rows = np.repeat(np.arange(len(A)), k)
        n_photos = len(b)
        self.shift_: list[float] = []
        self.n_iter_ = 0
        params: FloatArray | None = None
        for it in range(self.n_iter + 1):
            w = np.tile(post, (views, 1)).ravel()
            keep = w > 1e-4
            self.head_: OrdinalLogistic | LinearProbe
            if self.head == "ordinal":
                self.head_ = OrdinalLogistic(n_classes=k, C=self.C).fit(
                    A[rows[keep]], levels[keep], sample_weight=w[keep], warm_start=params)
                params = self.head_.params_
            else:
                self.head_ = LinearProbe(n_classes=k, C=self.C).fit(A[rows[keep]], levels[keep], sample_weight=w[keep])
            if not multi or it == self.n_iter:
                break
            q = self.head_.predict_proba(A).reshape(views, n_photos, k).mean(axis=0)
            new = post.copy()
            for m in multi:
                new[m] = max_posterior(q[m], int(yb[b[m[0]]]))
            shift = float(np.max(np.abs(new - post)))
            post = new
            self.shift_.append(shift)
            self.n_iter_ += 1
            if shift < self.tol:
                break
        self.posterior_ = post
        return self

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Per photo: its level distribution."""
        return self.head_.predict_proba(X)

    def predict_bag_proba(self, X: npt.ArrayLike, bags: Sequence[int] | npt.ArrayLike, n_bags: int) -> FloatArray:
        """Per asset: the distribution of its worst photo's level (:func:`bag_max_proba`)."""
        q = self.head_.predict_proba(X)
        b = np.asarray(bags, dtype=np.int64)
        out = np.full((n_bags, self.n_classes), np.nan)
        for j in range(n_bags):
            m = b == j
            if m.any():
                out[j] = bag_max_proba(q[m])
        return out
