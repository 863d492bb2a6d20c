"""The two-sample tests and effect sizes behind drift monitoring (PSI, KS, two proportions, grade mix, MMD², C2ST).

- population stability index over reference-quantile bins, and the Kolmogorov-Smirnov D;
- predicted-grade mix: PSI over grades and a chi-square test (Monte Carlo for small counts);
- reviewer override rate: two-proportion z-test (Fisher's exact test for small counts) with
  Cohen's h as the effect size;
- embeddings: squared MMD with an RBF kernel (bandwidth by the median heuristic) and a
  permutation test (A. Gretton, K. Borgwardt, M. Rasch, B. Schölkopf, A. Smola, "A kernel
  two-sample test", JMLR 13, 2012); and a classifier two-sample test (held-out AUC of a
  linear probe; D. Lopez-Paz, M. Oquab, "Revisiting classifier two-sample tests", ICLR 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from assetgrade.errors import ValidationError

__all__ = [
    "classifier_two_sample_test",
    "grade_mix_test",
    "ks_test",
    "median_bandwidth",
    "mmd_permutation_test",
    "psi",
    "two_proportion_test",
]

F = npt.NDArray[np.float64]


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index Σ (c - r) ln(c / r) over reference-quantile bins (0 = identical).

    Examples
    --------
    >>> r = np.random.default_rng(0).normal(size=2000)
    >>> psi(r, r) < 1e-9, psi(r, r + 1) > 0.2
    (True, True)
    """
    r, c = np.asarray(reference, np.float64), np.asarray(current, np.float64)
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if len(r) == 0 or len(c) == 0:
        return float("nan")
    edges = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1]))
    rp = np.bincount(np.searchsorted(edges, r, side="right"), minlength=len(edges) + 1) / len(r)
    cp = np.bincount(np.searchsorted(edges, c, side="right"), minlength=len(edges) + 1) / len(c)
    rp, cp = np.maximum(rp, eps), np.maximum(cp, eps)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def _categorical_psi(r: F, c: F, eps: float = 1e-4) -> float:
    rp, cp = np.maximum(r / r.sum(), eps), np.maximum(c / c.sum(), eps)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def ks_test(reference: npt.ArrayLike, current: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov (D, p-value); (NaN, NaN) when either side has no finite value."""
    r, c = np.asarray(reference, np.float64), np.asarray(current, np.float64)
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if r.size == 0 or c.size == 0:
        return float("nan"), float("nan")
    res = sps.ks_2samp(r, c)
    return float(res.statistic), float(res.pvalue)


def two_proportion_test(k1: int, n1: int, k2: int, n2: int, *,
                        alternative: str = "two-sided") -> tuple[float, float, float]:
    """(p2 - p1, Cohen's h, p-value): the pooled z-test, or Fisher's exact test for small counts.

    The z-test's normal approximation needs every expected cell count of the 2x2 table to be at
    least 5 (W. G. Cochran, "Some methods for strengthening the common chi-squared tests",
    Biometrics 10, 1954); below that (one override in a batch of two) it gives p-values far too
    small, so Fisher's exact test is used instead. ``alternative="greater"`` tests p2 > p1 only
    (one-sided), for a check that acts on a rise alone; ``"two-sided"`` (default) tests any change.

    Examples
    --------
    >>> round(two_proportion_test(50, 1000, 1, 2)[2], 3)  # the z-test said 0.004
    0.099
    >>> [round(two_proportion_test(20, 200, 13, 60, alternative=a)[2], 4) for a in ("two-sided", "greater")]
    [0.0173, 0.0086]
    """
    if alternative not in ("two-sided", "greater"):
        raise ValidationError(f"alternative={alternative!r}; allowed: 'two-sided', 'greater'", where="alternative")
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    h = 2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))
    pool = (k1 + k2) / (n1 + n2)
    if min(n1, n2) * min(pool, 1 - pool) < 5:
        # the table's odds ratio (k1 (n2 - k2)) / ((n1 - k1) k2) is below 1 when p2 > p1
        p = float(sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]],
                                   alternative="less" if alternative == "greater" else "two-sided").pvalue)
    else:
        se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
        z = (p2 - p1) / se  # se > 0 here: a pooled rate of 0 or 1 went to Fisher's test above
        p = float(sps.norm.sf(z)) if alternative == "greater" else float(2 * sps.norm.sf(abs(z)))
    return float(p2 - p1), float(h), min(1.0, p)


def grade_mix_test(reference: Sequence[Any], current: Sequence[Any], *, n_resamples: int = 200,
                   seed: int = 0) -> tuple[float, float, dict[str, float], dict[str, float]]:
    """PSI over the grades and the chi-square p-value of the 2 x grades table: (psi, p, reference, current counts).

    With an expected count below 5 in some cell (a small batch, a rare grade) the chi-square
    approximation is too optimistic (Cochran 1954), so the p-value then comes from
    ``n_resamples`` random tables with the same margins (a Monte Carlo exact test, seeded).
    Grades are compared as text. Either side empty: (NaN, NaN, ...).

    Examples
    --------
    >>> s, p, _, _ = grade_mix_test(["A"] * 500 + ["B"] * 450 + ["C"] * 50, ["C", "C"])
    >>> s > 0.2, 0.001 < p < 0.05
    (True, True)
    """
    ref, cur = [str(g) for g in reference], [str(g) for g in current]
    cats = sorted(set(ref) | set(cur))
    r = np.array([ref.count(c) for c in cats], np.float64)
    c = np.array([cur.count(c) for c in cats], np.float64)
    counts = dict(zip(cats, r.tolist(), strict=True)), dict(zip(cats, c.tolist(), strict=True))
    if not r.sum() or not c.sum():
        return float("nan"), float("nan"), *counts
    s = _categorical_psi(r, c)
    if len(cats) < 2:
        return s, 1.0, *counts
    table = np.vstack([r, c])
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    if expected.min() < 5:
        res = sps.chi2_contingency(table, correction=False,
                                   method=sps.MonteCarloMethod(n_resamples=n_resamples, rng=seed))
    else:
        res = sps.chi2_contingency(table)
    return s, float(res.pvalue), *counts


def median_bandwidth(z: F, *, max_points: int = 1000, seed: int = 0) -> float:
    """The median heuristic: the median pairwise Euclidean distance (on at most ``max_points`` rows)."""
    if len(z) > max_points:
        z = z[np.random.default_rng(seed).choice(len(z), max_points, replace=False)]
    sq = (z * z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0)
    med = float(np.sqrt(np.median(d2[np.triu_indices(len(z), 1)])))
    return med if med > 0 else 1.0


def _rbf(z: F, bandwidth: float) -> F:
    sq = (z * z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0)
    return np.exp(-d2 / (2 * bandwidth**2))  # type: ignore[no-any-return]


def _mmd2_from_masks(k: F, masks: npt.NDArray[np.bool_]) -> F:
    """Unbiased MMD² for each row of ``masks`` (True = sample X) over the pooled kernel matrix ``k``."""
    s = masks.astype(np.float64)
    t = 1.0 - s
    m, n = s.sum(1), t.sum(1)
    diag = np.diag(k)
    ks, kt = s @ k, t @ k
    xx = ((ks * s).sum(1) - s @ diag) / (m * (m - 1))
    yy = ((kt * t).sum(1) - t @ diag) / (n * (n - 1))
    xy = (ks * t).sum(1) / (m * n)
    return xx + yy - 2 * xy  # type: ignore[no-any-return]


def mmd_permutation_test(
    x: F, y: F, *, bandwidth: float | None = None, n_permutations: int = 200, seed: int = 0
) -> tuple[float, float, float]:
    """Unbiased MMD² with an RBF kernel and its permutation p-value (Gretton et al. 2012): (mmd2, p, bandwidth).

    Examples
    --------
    >>> g = np.random.default_rng(0)
    >>> a, b = g.normal(size=(100, 3)), g.normal(size=(100, 3)) + 1
    >>> mmd_permutation_test(a, b, n_permutations=100)[1] < 0.05
    True
    """
    if len(x) < 2 or len(y) < 2:
        raise ValidationError(f"MMD needs 2+ rows per sample, got {len(x)} and {len(y)}", where="mmd")
    z = np.vstack([x, y])
    bw = bandwidth if bandwidth is not None else median_bandwidth(z, seed=seed)
    k = _rbf(z, bw)
    base = np.zeros(len(z), bool)
    base[: len(x)] = True
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(base) for _ in range(n_permutations)])
    vals = _mmd2_from_masks(k, np.vstack([base[None, :], perms]))
    stat = float(vals[0])
    p = float((1 + np.sum(vals[1:] >= stat)) / (1 + n_permutations))
    return stat, p, bw


def classifier_two_sample_test(x: F, y: F, *, test_size: float = 0.5, seed: int = 0) -> tuple[float, float]:
    """Held-out AUC of a linear probe telling ``y`` rows from ``x`` rows, and its one-sided p-value.

    As D. Lopez-Paz and M. Oquab do ("Revisiting classifier two-sample tests", ICLR 2017, sec. 3),
    the probe is fitted on a stratified share of the rows and scored on the other ``test_size``:
    given the fitted probe, the held-out scores of the two samples are exchangeable when they do
    not differ, so the held-out AUC has the null distribution of the Mann-Whitney U / (n1 n0) and
    the p-value its normal approximation. (The out-of-fold AUC pooled over five cross-fitted folds
    used before has no such null: its folds train on one another's rows, and on samples from one
    distribution its p-value fell below 0.01 in 3.7 % and below 0.05 in 11 % of tests.)
    """
    from sklearn.model_selection import train_test_split

    from assetgrade.audit._cv import probe
    from assetgrade.audit.adversarial import auc

    if min(len(x), len(y)) < 2:
        raise ValidationError(f"the classifier test needs 2+ rows per sample, got {len(x)} and {len(y)}",
                              where="c2st")
    z = np.vstack([x, y])
    lab = np.r_[np.zeros(len(x), np.int64), np.ones(len(y), np.int64)]
    tr, te = train_test_split(np.arange(len(z)), test_size=test_size, stratify=lab, random_state=seed)
    p = probe(0.1, seed).fit(z[tr], lab[tr]).predict_proba(z[te])[:, 1]
    a = auc(lab[te], p)
    n1 = int(lab[te].sum())
    n0 = len(te) - n1
    se = np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    return a, float(sps.norm.sf((a - 0.5) / se))
