"""Latent-level fusion: a learned table from the modalities' joint readings to the asset grade.

Each modality's extractor gives a distribution over its own levels (its ``grade_proba``). The
model treats the true levels as latent: with levels independent of each other's readings given
the levels (naive-Bayes style), the readings combine as P(l | x) ∝ P(l) Π_m q_m(l_m | x_m) /
π_m(l_m), where π_m is modality m's average reading. A joint table J[l, g] = P(levels l, grade g)
over every level combination l (k^M cells for M modalities of k levels) is learned from the
asset grades by expectation-maximisation (Dempster, Laird & Rubin 1977) -- the latent class
model of Dawid & Skene (1979, "Maximum likelihood estimation of observer error-rates using the
EM algorithm", Applied Statistics 28) with the modalities as observers whose errors the
extractors' distributions already state. A Dirichlet pseudo-count ``alpha``, spread over the
table in proportion to the independent prior Π π_m(l_m) · P(g), keeps sparse cells finite.

The grade follows as P(g | x) ∝ Σ_l P(l | x) J[l, g] / P(l). The table reads as the rubric
the graders apply (:meth:`LatentLevelTable.rubric`). A missing modality is marginalised exactly
(its reading is replaced by its average, so its ratio is 1): no dropout or fill is needed.

An extractor's distribution may be sharper or flatter than its real accuracy warrants. With
``temper=True`` each modality's reading is raised to a power 1/τ_m (renormalised) before it
enters the model, τ_m chosen on a geometric grid (steps of √2 from 1/8 to 8) by coordinate
ascent on the cross-validated log-likelihood of the grades: from τ = 1, each modality's τ moves
one grid step at a time while the likelihood improves (every candidate refits the table on each
fold; the in-sample likelihood would always favour sharper readings, which over-fit). This is a
learned reliability per modality, as the temperature of Guo et al. (2017) is for one classifier.

The levels are ordered like the grades (each modality reads the grade scale). With
``monotone=True`` the fitted table is made stochastically monotone by
:func:`~assetgrade.fusion.monotone.monotone_table`: for every grade g, P(grade ≥ g | levels)
must not fall when any one modality reads a worse level.

The fit does not depend on the order of the rows: they are sorted by their content (readings,
then grade) before anything is fitted, so the cross-validation folds that choose the
temperatures, and every sum, see the same rows in the same order for any permutation.
:func:`~assetgrade.fusion.latent_plot.plot_latent_table` draws a fitted table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.fusion.latent_plot import plot_latent_table
from assetgrade.fusion.monotone import isotonic_grid, monotone_table, monotone_violations

__all__ = ["TEMPERATURE_GRID", "LatentLevelTable", "isotonic_grid", "monotone_table", "plot_latent_table"]

FloatArray = npt.NDArray[np.float64]

MAX_STATES = 4096
"""Largest joint level space (k^M) the table accepts; beyond it the cells are too sparse to learn."""

_FLOOR = 1e-6

TEMPERATURE_GRID: tuple[float, ...] = tuple(round(2.0 ** (k / 2), 3) for k in range(-6, 7))
"""Temperatures the latent table may give a modality: steps of √2 from 1/8 to 8. (Until 30 Nov 2026
the grid was 0.5-2, and on the linked benchmark vision and sensors sat on its lower edge and
text on its upper edge in most runs.)"""


class LatentLevelTable:
    """EM-fitted table from joint modality levels to grades (see the module docstring).

    Parameters
    ----------
    alpha : float
        Dirichlet pseudo-count spread over the whole table (prior: levels independent, grade
        at its training frequency).
    max_iter : int
        EM iterations at most.
    tol : float
        Stop when the mean log-likelihood gains less than this.
    temper : bool
        Learn one temperature per modality (see the module docstring).
    temperatures : sequence of float
        The grid the temperatures are chosen from (sorted; the search starts at the value
        nearest 1 and walks to neighbours). Default :data:`TEMPERATURE_GRID`.
    cv, seed : int
        Random folds (seeded) of the cross-validation that chooses the temperatures.
    monotone : bool
        Make the fitted table stochastically monotone in every modality's level (see the
        module docstring).

    Attributes
    ----------
    n_levels_ : list[int]
        Levels per modality (columns of its distribution).
    prior_ : list[ndarray]
        Average reading π_m per modality (floored at 1e-6, renormalised).
    joint_ : ndarray, shape (states, n_classes)
        The learned P(levels, grade); states enumerate level combinations with the last
        modality varying fastest.
    n_iter_ : int
    loglik_ : float
        EM objective at the end (mean log-likelihood of readings and grades, up to a constant).
    cond_loglik_ : float
        Mean log P(grade | readings) on the training rows (what the temperatures maximise).
    temperatures_ : list[float]
        Temperature per modality (all 1.0 without ``temper``).
    cv_nll_ : float
        With ``temper``: the cross-validated negative log-likelihood of the chosen temperatures.

    Examples
    --------
    >>> import numpy as np
    >>> eye = np.eye(2)
    >>> a = eye[[0, 0, 1, 1] * 5]; b = eye[[0, 1, 0, 1] * 5]
    >>> y = np.array([0, 1, 1, 1] * 5)  # grade 1 when either modality reads level 1
    >>> t = LatentLevelTable(alpha=0.01).fit([a, b], y, n_classes=2)
    >>> t.predict_proba([a[:4], b[:4]]).argmax(axis=1).tolist()
    [0, 1, 1, 1]
    >>> t.rubric().argmax(axis=-1).tolist()
    [[0, 1], [1, 1]]
    """

    joint_: FloatArray

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        max_iter: int = 500,
        tol: float = 1e-6,
        temper: bool = False,
        temperatures: Sequence[float] = TEMPERATURE_GRID,
        cv: int = 5,
        seed: int = 0,
        monotone: bool = False,
    ) -> None:
        self.monotone = monotone
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.temper = temper
        self.temperatures = tuple(temperatures)
        self.cv = cv
        self.seed = seed

    @staticmethod
    def _check(qs: Sequence[npt.ArrayLike], n_levels: Sequence[int] | None) -> list[FloatArray]:
        if not qs:
            raise ValidationError("no modality distributions given", where="LatentLevelTable")
        arrs = [np.atleast_2d(np.asarray(q, dtype=np.float64)) for q in qs]
        n = arrs[0].shape[0]
        for j, a in enumerate(arrs):
            if a.shape[0] != n:
                raise ValidationError(f"{a.shape[0]} rows, expected {n}", where=f"modality {j}")
            if n_levels is not None and a.shape[1] != n_levels[j]:
                raise ValidationError(f"{a.shape[1]} levels, fitted with {n_levels[j]}", where=f"modality {j}")
            finite = a[np.isfinite(a).all(axis=1)]
            if np.any(finite < 0):
                raise ValidationError("negative probabilities", where=f"modality {j}")
        return arrs

    def _require_fitted(self) -> None:
        if not hasattr(self, "joint_"):
            raise ValidationError("LatentLevelTable is not fitted; call fit first", where="LatentLevelTable")

    def _ratios(self, arrs: Sequence[FloatArray]) -> FloatArray:
        """Π_m q_m(l_m) / π_m(l_m) per row and joint state; a NaN row (absent modality) has ratio 1."""
        n = arrs[0].shape[0]
        out = np.ones((n, 1))
        for a, pri, tau in zip(arrs, self.prior_, self.temperatures_, strict=True):
            absent = np.asarray(~np.isfinite(a).all(axis=1), dtype=bool)
            q = np.clip(np.where(absent[:, None], 1.0, a), _FLOOR, None) ** (1.0 / tau)  # inf / inf warned
            q = q / q.sum(axis=1, keepdims=True)
            r = q / pri
            r[absent] = 1.0
            out = (out[:, :, None] * r[:, None, :]).reshape(n, -1)
        return out

    def fit(self, qs: Sequence[npt.ArrayLike], y: npt.ArrayLike, *, n_classes: int) -> Self:
        """Learn the table from per-modality distributions (rows NaN where absent) and grade indices."""
        if self.alpha <= 0:
            raise ValidationError(f"alpha={self.alpha} must be > 0", where="LatentLevelTable.alpha")
        arrs = self._check(qs, None)
        yy = np.asarray(y, dtype=np.int64)
        if len(yy) != arrs[0].shape[0]:
            raise ValidationError(f"{arrs[0].shape[0]} rows but {len(yy)} grades", where="y")
        if yy.size and (yy.min() < 0 or yy.max() >= n_classes):
            raise ValidationError(f"grade indices outside 0..{n_classes - 1}", where="y")
        self.n_levels_ = [a.shape[1] for a in arrs]
        n_states = int(np.prod(self.n_levels_))
        if n_states > MAX_STATES:
            raise ValidationError(
                f"{n_states} joint level combinations ({' x '.join(map(str, self.n_levels_))}) exceed "
                f"{MAX_STATES}; use the logistic fusion model", where="LatentLevelTable")
        self.n_classes_ = n_classes
        for j, a in enumerate(arrs):
            if not np.isfinite(a).all(axis=1).any():
                raise ValidationError("absent on every training row", where=f"modality {j}")
        if any(t <= 0 for t in self.temperatures) or not self.temperatures:
            raise ValidationError(f"temperatures {self.temperatures} must be positive", where="LatentLevelTable")
        if self.temper and self.cv < 2:
            raise ValidationError(f"cv={self.cv} must be >= 2", where="LatentLevelTable.cv")
        arrs, yy = _in_content_order(arrs, yy)
        taus = [1.0] * len(arrs)
        if self.temper and len(self.temperatures) > 1:
            taus = self._choose_temperatures(arrs, yy)
        self._em(arrs, yy, taus)
        if self.monotone:
            self.joint_ = monotone_table(self.joint_, self.n_levels_)
            p = self._ratios(arrs) @ self.joint_
            self.cond_loglik_ = float(np.mean(np.log(p[np.arange(len(yy)), yy] / p.sum(axis=1))))
        return self

    def monotone_violations(self, *, min_share: float = 0.0) -> int:
        """Neighbouring cell pairs (one level apart in one modality, both holding at least ``min_share``
        of the table's mass) where the worse reading has a lower P(grade ≥ g) for some g."""
        self._require_fitted()
        return monotone_violations(self.joint_, self.n_levels_, min_share)

    def _choose_temperatures(self, arrs: Sequence[FloatArray], yy: npt.NDArray[np.int64]) -> list[float]:
        """Coordinate ascent over the grid on the cross-validated log-likelihood of the grades."""
        n = len(yy)
        folds = np.random.default_rng(self.seed).permutation(n) % min(self.cv, n)
        held = [(folds != k, folds == k) for k in range(int(folds.max()) + 1)]
        probe = LatentLevelTable(alpha=self.alpha, max_iter=self.max_iter, tol=self.tol)
        probe.n_levels_, probe.n_classes_ = self.n_levels_, self.n_classes_

        def cv_nll(taus: list[float]) -> float:
            total = 0.0
            for tr, te in held:
                probe._em([a[tr] for a in arrs], yy[tr], taus)
                p = probe._ratios([a[te] for a in arrs]) @ probe.joint_
                total -= float(np.sum(np.log(p[np.arange(int(te.sum())), yy[te]] / p.sum(axis=1))))
            return total / n

        grid = sorted({float(t) for t in self.temperatures})
        start = min(range(len(grid)), key=lambda i: abs(np.log(grid[i])))
        at = [start] * len(arrs)
        scores: dict[tuple[int, ...], float] = {}

        def score(idx: list[int]) -> float:
            key = tuple(idx)
            if key not in scores:
                scores[key] = cv_nll([grid[i] for i in idx])
            return scores[key]

        best = score(at)
        for _sweep in range(4):
            changed = False
            for j in range(len(arrs)):
                for step in (-1, 1):
                    while 0 <= at[j] + step < len(grid):
                        trial = [*at[:j], at[j] + step, *at[j + 1:]]
                        s = score(trial)
                        if s >= best - 1e-9:
                            break
                        best, at, changed = s, trial, True
            if not changed:
                break
        self.cv_nll_ = best
        return [grid[i] for i in at]

    def _em(self, arrs: Sequence[FloatArray], yy: npt.NDArray[np.int64], taus: Sequence[float]) -> None:
        """Fit the table by EM for the given temperatures (sets prior_, joint_, loglik_, n_iter_)."""
        n_classes = self.n_classes_
        self.temperatures_ = [float(t) for t in taus]
        self.prior_: list[FloatArray] = []
        for a, tau in zip(arrs, taus, strict=True):
            ok = np.isfinite(a).all(axis=1)
            if not ok.any():  # possible inside a cross-validation fold: nothing to average
                self.prior_.append(np.full(a.shape[1], 1.0 / a.shape[1]))
                continue
            q = np.clip(a[ok], _FLOOR, None) ** (1.0 / tau)
            p = np.clip((q / q.sum(axis=1, keepdims=True)).mean(axis=0), _FLOOR, None)
            self.prior_.append(p / p.sum())
        ratios = self._ratios(arrs)
        w0 = np.ones(1)
        for p in self.prior_:
            w0 = np.outer(w0, p).ravel()
        grade_prior = (np.bincount(yy, minlength=n_classes) + 1.0) / (len(yy) + n_classes)
        pseudo = self.alpha * np.outer(w0, grade_prior)
        joint = np.outer(w0, grade_prior)
        onehot = np.eye(n_classes)[yy]
        last = -np.inf
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            like = ratios * joint[:, yy].T  # (n, states): P(x, l, y) up to a factor of x
            total = like.sum(axis=1, keepdims=True)
            ll = float(np.mean(np.log(total)) - np.log(joint.sum()))
            resp = like / total
            joint = resp.T @ onehot + pseudo
            joint /= joint.sum()
            self.n_iter_ = it
            if ll - last < self.tol:
                break
            last = ll
        self.joint_ = joint
        self.loglik_ = last
        p = ratios @ joint
        self.cond_loglik_ = float(np.mean(np.log(p[np.arange(len(yy)), yy] / p.sum(axis=1))))

    def predict_proba(self, qs: Sequence[npt.ArrayLike]) -> FloatArray:
        """Grade distribution per row (a NaN row of one modality marginalises that modality)."""
        self._require_fitted()
        arrs = self._check(qs, self.n_levels_)
        if len(arrs) != len(self.n_levels_):
            raise ValidationError(f"{len(arrs)} modalities, fitted with {len(self.n_levels_)}",
                                  where="LatentLevelTable")
        p = self._ratios(arrs) @ self.joint_
        out: FloatArray = p / p.sum(axis=1, keepdims=True)
        return out

    def top_readings(self, qs: Sequence[npt.ArrayLike]) -> list[tuple[tuple[int | None, ...], float, FloatArray]]:
        """Per row: the most probable levels of the present modalities (None for an absent one), its
        posterior probability, and the table's grade distribution for that reading (absent
        modalities averaged out)."""
        self._require_fitted()
        arrs = self._check(qs, self.n_levels_)
        shape = (*self.n_levels_, self.n_classes_)
        ratios = self._ratios(arrs)
        missing = np.stack([~np.isfinite(a).all(axis=1) for a in arrs], axis=1)
        out: list[tuple[tuple[int | None, ...], float, FloatArray]] = [((), 0.0, np.empty(0))] * len(ratios)
        for pattern in np.unique(missing, axis=0):  # rows that lack the same modalities, at once
            rows = np.flatnonzero((missing == pattern).all(axis=1))
            absent = tuple(int(j) + 1 for j in np.flatnonzero(pattern))  # +1: axis 0 is the row
            post = (ratios[rows][:, :, None] * self.joint_[None, :, :]).reshape(len(rows), *shape)
            cells = post.sum(axis=absent) if absent else post  # (rows, *present levels, grades)
            by_levels = cells.sum(axis=-1).reshape(len(rows), -1)
            best = by_levels.argmax(axis=1)
            mixes = cells.reshape(len(rows), by_levels.shape[1], -1)[np.arange(len(rows)), best]
            probs = by_levels[np.arange(len(rows)), best] / by_levels.sum(axis=1)
            idx = np.unravel_index(best, cells.shape[1:-1]) if cells.ndim > 2 else ()
            for r, row in enumerate(rows):
                present = iter(int(v[r]) for v in idx)
                levels = tuple(None if pattern[j] else next(present) for j in range(len(arrs)))
                mix = mixes[r] / max(float(mixes[r].sum()), 1e-300)
                out[row] = (levels, float(probs[r]), mix)
        return out

    def rubric(self) -> FloatArray:
        """P(grade | levels) as an array of shape (*n_levels, n_classes): the learned rubric."""
        self._require_fitted()
        cond = self.joint_ / self.joint_.sum(axis=1, keepdims=True)
        out: FloatArray = cond.reshape(*self.n_levels_, self.n_classes_)
        return out

    def state_weights(self) -> FloatArray:
        """P(levels) learned, shape ``n_levels``: how often each combination of readings occurs."""
        out: FloatArray = self.joint_.sum(axis=1).reshape(*self.n_levels_)
        return out

    def states(self) -> list[tuple[int, ...]]:
        """The level combinations in the order of ``joint_``'s rows."""
        return list(itertools.product(*(range(k) for k in self.n_levels_)))


def _in_content_order(arrs: Sequence[FloatArray],
                      yy: npt.NDArray[np.int64]) -> tuple[list[FloatArray], npt.NDArray[np.int64]]:
    """The rows sorted by their readings (modality by modality), then grade; an absent reading as NaN.

    Rows that sort equal hold the same numbers, so any permutation of the same rows gives the
    same arrays: the temperature folds and every sum of the fit follow the content, not the order
    the caller listed the assets in (the Fuser sorted by asset id; the table used directly did not).
    """
    present = [np.asarray(np.isfinite(a).all(axis=1), dtype=bool) for a in arrs]
    canon = [np.where(ok[:, None], a, np.nan) for a, ok in zip(arrs, present, strict=True)]
    # an absent row sorts first (-1 lies below every probability); lexsort's last key is the primary one
    keys = np.column_stack([*(np.where(ok[:, None], a, -1.0) for a, ok in zip(canon, present, strict=True)), yy])
    order = np.lexsort(keys.T[::-1])
    return [a[order] for a in canon], yy[order]
