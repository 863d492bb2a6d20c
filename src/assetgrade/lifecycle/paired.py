"""Paired comparison of two models on one golden set: per-asset outcomes, a paired bootstrap, McNemar's test.

Champion and challenger grade the same golden assets, so the difference of their figures is
measured paired: each bootstrap resample draws asset ids with replacement and recomputes *both*
models' metric on that same draw, and the percentile interval of the differences
(challenger - champion) is reported (Efron & Tibshirani 1993, *An Introduction to the
Bootstrap*, ch. 13 (percentile interval) and ch. 6 (bootstrap of a statistic)). Pairing removes
the between-asset variance the two models share: only the assets on which they differ move the
difference. For accuracy the exact McNemar test on the discordant assets is given as well
(McNemar 1947, "Note on the sampling error of the difference between correlated proportions or
percentages", Psychometrika 12).

Every compared metric of :func:`~assetgrade.lifecycle.evaluate.grade_set_metrics` is a
function of how often each asset is drawn, so one (resamples x assets) count matrix computes
all of them for all resamples at once: accuracy and the costs are weighted means; QWK comes from
the weighted confusion table (Cohen 1968); the top-label ECE is
``sum_bins |sum_{i in bin} w_i (correct_i - confidence_i)| / n`` with the 15 bins of
:func:`~assetgrade.fusion.ece.confidence_bins` (Guo et al. 2017). With every count 1 these give
the point figures, NaN where they are: a resample that draws one true grade only has no QWK,
as :func:`~assetgrade.decision.metrics.quadratic_weighted_kappa` has none on such a set (the
other metrics are defined on every resample). :func:`envelope_interval` bounds an interval over
such resamples whatever figure they would take.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.fusion.ece import confidence_bins

__all__ = [
    "ECE_BINS",
    "PAIRED_METRICS",
    "AssetOutcome",
    "envelope_interval",
    "mcnemar_exact",
    "paired_draws",
    "percentile_interval",
    "resample_counts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ECE_BINS = 15
"""Bins of the top-label ECE, as :func:`~assetgrade.fusion.ece.expected_calibration_error` uses by default."""
PAIRED_METRICS = ("accuracy", "qwk", "ece", "expected_cost", "realised_cost")
"""The metrics :func:`paired_draws` can recompute on a resample."""
_BLOCK = 1 << 21
"""Counts per block of resamples (2M: 16 MB as float64), so a large golden set never needs the whole matrix."""


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)  # NaN is stored as null (jsonable)


@dataclass(frozen=True)
class AssetOutcome:
    """One golden asset graded by one model: what a paired comparison resamples.

    Examples
    --------
    >>> o = AssetOutcome("B", "A", "A", 0.9, 12.0, 30.0, groups={"asset_type": "pump"})
    >>> o.correct, AssetOutcome.from_dict(o.to_dict()) == o
    (False, True)
    """

    label: str
    """The frozen grade label."""
    grade: str
    """The decided grade (accuracy, QWK and the realised cost read it)."""
    top_grade: str
    """The grade of highest probability (the top label of the ECE; a cost-aware decision may differ)."""
    confidence: float
    """The top probability, after normalising the probabilities over the grade scale."""
    expected_cost: float
    """The expected misgrading cost the model reported."""
    realised_cost: float
    """C[label, grade] under the workspace cost matrix, scaled by the asset's value."""
    review: bool = False
    """Sent to review."""
    groups: Mapping[str, str] = field(default_factory=dict)
    """The asset's value of each subgroup key (asset_type, modalities, source...)."""

    @property
    def correct(self) -> bool:
        """The decided grade is the frozen label."""
        return self.grade == self.label

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes null when stored through ``jsonable``)."""
        return {"label": self.label, "grade": self.grade, "top_grade": self.top_grade, "confidence": self.confidence,
                "expected_cost": self.expected_cost, "realised_cost": self.realised_cost, "review": self.review,
                "groups": dict(self.groups)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AssetOutcome:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["label"]), str(d["grade"]), str(d["top_grade"]), _float(d["confidence"]),
                   _float(d.get("expected_cost")), _float(d.get("realised_cost")), bool(d.get("review", False)),
                   {str(k): str(v) for k, v in (d.get("groups") or {}).items()})


def _draw(rng: np.random.Generator, n: int, rows: int) -> FloatArray:
    idx = rng.integers(0, n, size=(rows, n))
    flat = (idx + (np.arange(rows) * n)[:, None]).ravel()
    out: FloatArray = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
    return out


@lru_cache(maxsize=8)
def _one_block(n: int, n_resamples: int, seed: int) -> FloatArray:
    out = _draw(np.random.default_rng(seed), n, n_resamples)
    out.flags.writeable = False  # shared by every comparison of this size
    return out


def resample_counts(n: int, n_resamples: int, seed: int) -> Iterator[FloatArray]:
    """Blocks of rows of the (``n_resamples``, ``n``) matrix of how often each of ``n`` assets is drawn.

    Each row is one bootstrap resample: ``n`` draws with replacement, so each row sums to ``n``.
    The same (``n``, ``n_resamples``, ``seed``) gives the same matrix.

    Examples
    --------
    >>> [b.shape for b in resample_counts(4, 3, seed=0)], next(resample_counts(4, 3, seed=0)).sum(1).tolist()
    ([(3, 4)], [4.0, 4.0, 4.0])
    """
    if n < 1 or n_resamples < 1:
        raise ValidationError(f"need assets and resamples, got n={n}, n_resamples={n_resamples}", where="bootstrap")
    if n * n_resamples <= _BLOCK:
        yield _one_block(n, n_resamples, seed)
        return
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK // n)
    for start in range(0, n_resamples, rows):
        yield _draw(rng, n, min(rows, n_resamples - start))


@dataclass(frozen=True)
class _Columns:
    """One model's per-asset columns, in the paired order."""

    correct: FloatArray
    cell: IntArray  # label index * k + grade index: the asset's cell of the confusion table
    ece: FloatArray  # (top label correct) - confidence
    bin: IntArray
    expected_cost: FloatArray
    realised_cost: FloatArray


def _columns(outcomes: Sequence[AssetOutcome], grades: Sequence[str]) -> _Columns:
    index = {g: i for i, g in enumerate(grades)}
    try:
        y = np.array([index[o.label] for o in outcomes], dtype=np.int64)
        pred = np.array([index[o.grade] for o in outcomes], dtype=np.int64)
        top = np.array([index[o.top_grade] for o in outcomes], dtype=np.int64)
    except KeyError as exc:
        raise ValidationError(f"grade {exc.args[0]!r} is not one of {list(grades)}",
                              where="per-asset outcomes") from exc
    conf = np.array([o.confidence for o in outcomes], dtype=np.float64)
    return _Columns((pred == y).astype(np.float64), y * len(grades) + pred, (top == y) - conf,
                    confidence_bins(np.nan_to_num(conf), ECE_BINS),
                    np.array([o.expected_cost for o in outcomes], dtype=np.float64),
                    np.array([o.realised_cost for o in outcomes], dtype=np.float64))


def _group_sums(w: FloatArray, x: FloatArray, group: IntArray, size: int) -> FloatArray:
    """(resamples, ``size``): on each resample, the sum of ``w_i * x_i`` over the assets ``i`` of each group."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out = np.zeros((len(w), size))
    out[:, g[starts]] = np.add.reduceat(w[:, order] * x[order], starts, axis=1)  # O(resamples x assets)
    return out


def _metric(name: str, w: FloatArray, n: FloatArray, col: _Columns, k: int) -> FloatArray:
    """``name`` on every resample (row) of the count matrix ``w`` (``n``: its row sums)."""
    if name in ("accuracy", "expected_cost", "realised_cost"):
        x = col.correct if name == "accuracy" else getattr(col, name)
        out: FloatArray = np.einsum("rn,n->r", w, x) / n  # not BLAS: its threads crawl on a busy machine
        return out
    if name == "ece":
        out = np.abs(_group_sums(w, col.ece, col.bin, ECE_BINS)).sum(axis=1) / n
        return out
    if name == "qwk":  # quadratic_weighted_kappa on each resample's confusion table
        obs = _group_sums(w, np.ones(len(col.cell)), col.cell, k * k).reshape(-1, k, k)
        chance = obs.sum(2)[:, :, None] * obs.sum(1)[:, None, :] / n[:, None, None]
        i, j = np.indices((k, k))
        weight = ((i - j) ** 2) / max((k - 1) ** 2, 1)
        num, den = (weight * obs).sum((1, 2)), (weight * chance).sum((1, 2))
        out = np.where(den == 0, 1.0, 1.0 - num / np.where(den == 0, 1.0, den))
        # one true grade drawn: obs equals chance whatever was predicted, so 0 / 0 or 0 for any mistake, a
        # figure that says nothing (NaN, as quadratic_weighted_kappa), not "perfect"
        out[(obs.sum(2) > 0).sum(1) < 2] = math.nan
        return out
    raise ValidationError(f"{name!r} is not a paired metric; known: {list(PAIRED_METRICS)}", where="bootstrap")


def paired_draws(
    champion: Sequence[AssetOutcome], challenger: Sequence[AssetOutcome], grades: Sequence[str],
    metrics: Sequence[str] = PAIRED_METRICS, *, n_resamples: int = 2000, seed: int = 0,
    counts: npt.ArrayLike | None = None,
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Each metric of champion and challenger on the same bootstrap resamples of the assets.

    ``champion[i]`` and ``challenger[i]`` are the same asset. ``counts`` (resamples x assets, how
    often each asset is drawn) replaces the seeded resamples of :func:`resample_counts`.

    Examples
    --------
    >>> a = [AssetOutcome("A", "A", "A", 1.0, 0.0, 0.0), AssetOutcome("B", "A", "A", 1.0, 0.0, 5.0)]
    >>> b = [AssetOutcome("A", "A", "A", 1.0, 0.0, 0.0), AssetOutcome("B", "B", "B", 1.0, 0.0, 0.0)]
    >>> champ, chall = paired_draws(a, b, ["A", "B"], ["accuracy"], counts=[[1, 1], [2, 0], [0, 2]])["accuracy"]
    >>> champ.tolist(), chall.tolist()
    ([0.5, 1.0, 0.0], [1.0, 1.0, 1.0])
    """
    if len(champion) != len(challenger):
        raise ValidationError(f"{len(champion)} champion outcomes for {len(challenger)} challenger outcomes",
                              where="paired comparison")
    k = len(grades)
    cols = (_columns(champion, grades), _columns(challenger, grades))
    if counts is not None:
        w = np.asarray(counts, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != len(champion) or (w < 0).any() or (w.sum(1) <= 0).any():
            raise ValidationError(f"counts must be (resamples, {len(champion)}) of counts >= 0, each row drawing"
                                  f" some asset; got shape {w.shape}", where="counts")
        blocks: Iterator[FloatArray] = iter([w])
    else:
        blocks = resample_counts(len(champion), n_resamples, seed)
    parts: dict[str, tuple[list[FloatArray], list[FloatArray]]] = {m: ([], []) for m in metrics}
    for block in blocks:
        n = block.sum(axis=1) if counts is not None else np.full(len(block), float(len(champion)))
        for m in metrics:
            parts[m][0].append(_metric(m, block, n, cols[0], k))
            parts[m][1].append(_metric(m, block, n, cols[1], k))
    return {m: (np.concatenate(a), np.concatenate(b)) for m, (a, b) in parts.items()}


def percentile_interval(draws: npt.ArrayLike, confidence: float) -> tuple[float, float]:
    """The two-sided percentile interval of bootstrap ``draws`` (Efron & Tibshirani 1993, ch. 13); NaN if any is.

    The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles, interpolated linearly.

    Examples
    --------
    >>> percentile_interval([0.0, 1.0, 2.0, 3.0, 4.0], 0.5)
    (1.0, 3.0)
    """
    x = np.asarray(draws, dtype=np.float64)
    if x.size == 0 or np.isnan(x).any():
        return math.nan, math.nan
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(x, [a, 1.0 - a])
    return float(lo), float(hi)


def envelope_interval(draws: npt.ArrayLike, confidence: float) -> tuple[float, float]:
    """The percentile interval of ``draws`` whatever their undefined (NaN) draws would be; NaN where those decide it.

    The lower bound is :func:`percentile_interval`'s with every NaN draw below all the others,
    the upper bound with every NaN draw above them: both are NaN once the NaN draws reach
    either quantile (more than about ``(1 - confidence) / 2`` of the draws). Without NaN draws
    it is :func:`percentile_interval`.

    Examples
    --------
    >>> nan = float("nan")
    >>> envelope_interval([0.0, 1.0, 2.0, 3.0, nan], 0.5), envelope_interval([0.0, 1.0, nan, nan], 0.5)
    ((0.0, 3.0), (nan, nan))
    """
    x = np.asarray(draws, dtype=np.float64).ravel()
    undefined = np.isnan(x)
    if not undefined.any():
        return percentile_interval(x, confidence)
    d = np.sort(x[~undefined])
    n, m = x.size, d.size
    a = (1.0 - confidence) / 2.0
    lo_pos, hi_pos = a * (n - 1), (1.0 - a) * (n - 1)  # positions in the sorted draws, as np.quantile's linear
    u = n - m  # NaN draws: positions [0, u) for the lower bound, [m, n) for the upper one
    if m == 0 or math.floor(lo_pos) < u or math.ceil(hi_pos) > m - 1:
        return math.nan, math.nan
    idx = np.arange(m, dtype=np.float64)
    return float(np.interp(lo_pos - u, idx, d)), float(np.interp(hi_pos, idx, d))


def mcnemar_exact(champion_correct: npt.ArrayLike, challenger_correct: npt.ArrayLike) -> tuple[int, int, float]:
    """McNemar's exact test of equal accuracy on paired outcomes (McNemar 1947).

    Returns ``(b, c, p)``: ``b`` assets only the champion got right, ``c`` only the challenger,
    and the two-sided p ``min(1, 2 P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``
    (1.0 when they never disagree). It tests "equally accurate", not "within the tolerance".

    Examples
    --------
    >>> mcnemar_exact([1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0])
    (5, 0, 0.0625)
    """
    a = np.asarray(champion_correct, dtype=bool)
    b_ = np.asarray(challenger_correct, dtype=bool)
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    if b + c == 0:
        return b, c, 1.0
    tail = sum(math.comb(b + c, i) for i in range(min(b, c) + 1))  # exact, in integers
    return b, c, min(1.0, 2 * tail / 2 ** (b + c))
