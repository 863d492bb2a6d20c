"""Risk-coverage curves: auto-accept rate against error and mean cost among accepted assets.

Assets are sorted from most to least confident (lowest expected cost of the Bayes grade by
default, or highest top probability); accepting the first m gives one point of the curve
(El-Yaniv & Wiener 2010, "On the foundations of noise-free selective classification"; Geifman &
El-Yaniv 2017, "Selective classification for deep neural networks"). :func:`accept_rate_at`
reads off the largest auto-accept rate whose accepted error stays within a bound *on the data
given* (an in-sample figure for reporting; choose deployable thresholds with
:func:`assetgrade.decision.policy.select_threshold` on calibration data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.decision.costs import bayes_grades, expected_costs
from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import as_labels, as_proba

__all__ = ["RiskCoverage", "accept_rate_at", "plot_risk_coverage", "risk_coverage"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RiskCoverage:
    """Points of a risk-coverage curve, one per number of accepted assets (1..n).

    Examples
    --------
    >>> import numpy as np
    >>> rc = risk_coverage(np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([0, 1]))
    >>> rc.coverage.tolist(), rc.error.tolist()
    ([0.5, 1.0], [0.0, 0.5])
    """

    coverage: FloatArray
    """Auto-accept rate m/n."""
    error: FloatArray
    """Misgrading rate among the m accepted."""
    mean_cost: FloatArray
    """Mean realised cost among the m accepted (NaN without a cost matrix)."""
    threshold: FloatArray
    """The score of the m-th accepted asset (accept when score <= threshold)."""


def risk_coverage(
    proba: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    cost: npt.ArrayLike | None = None,
    score: npt.ArrayLike | None = None,
) -> RiskCoverage:
    """The curve for predictions ``proba`` with true grade indices ``y``.

    With a cost matrix the predicted grade is the minimum-expected-cost one and the default score
    is its expected cost; without one, the argmax and ``1 - max p``.
    """
    p = as_proba(proba)
    yy = as_labels(y, p.shape[1], rows=len(p))
    n = len(yy)
    if n == 0:
        raise ValidationError("no assets", where="risk_coverage")
    C = None if cost is None else np.asarray(cost, dtype=np.float64)
    if C is not None:
        ec = expected_costs(p, C)
        pred = bayes_grades(ec)
        default_score = ec.min(axis=1)
        realised = C[yy, pred]
    else:
        pred = p.argmax(axis=1)
        default_score = 1.0 - p.max(axis=1)
        realised = np.full(n, np.nan)
    s = default_score if score is None else np.asarray(score, dtype=np.float64)
    if s.shape != (n,):
        raise ValidationError(f"score has shape {s.shape}, expected ({n},)", where="score")
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValidationError(f"score of asset {bad} is {s[bad]}; scores must be finite numbers", where="score")
    order = np.argsort(s, kind="stable")
    wrong = (pred != yy).astype(np.float64)[order]
    m = np.arange(1, n + 1, dtype=np.float64)
    return RiskCoverage(
        coverage=m / n,
        error=np.cumsum(wrong) / m,
        mean_cost=np.cumsum(realised[order]) / m,
        threshold=s[order],
    )


def accept_rate_at(curve: RiskCoverage, max_error: float = 0.02) -> float:
    """The largest auto-accept rate whose accepted error is at most ``max_error`` (0 if none).

    Only points a threshold can reach count: assets with the same score are accepted together
    or not at all, so a point inside a run of equal scores (whose error depends on the order the
    tied assets were given in) is skipped.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.tile([[0.9, 0.1]], (10, 1))  # ten assets, one score: accept all ten or none
    >>> accept_rate_at(risk_coverage(p, np.array([0] * 9 + [1])), 0.02)
    0.0
    """
    ok = np.flatnonzero((curve.error <= max_error + 1e-12) & _reachable(curve))
    return float(curve.coverage[ok[-1]]) if len(ok) else 0.0


def _reachable(curve: RiskCoverage) -> npt.NDArray[np.bool_]:
    """Which points a threshold can reach: the last of each run of equal scores."""
    t = curve.threshold
    out: npt.NDArray[np.bool_] = np.r_[t[1:] != t[:-1], True] if len(t) else np.zeros(0, bool)
    return out


def plot_risk_coverage(
    curves: dict[str, RiskCoverage],
    path: str | Path,
    *,
    max_error: float | None = 0.02,
    title: str = "Risk-coverage",
    cost_unit: str = "cost units",
) -> Path:
    """Write error and mean cost against auto-accept rate for one or more named curves as a PNG.

    The title spans both panels; a curve's legend says how many it accepts at the error target, the cost axis
    what the costs are in (``cost_unit``: the cost settings' currency, else "cost units").

    Only the points a threshold can reach are drawn (the last of each run of equal scores, as
    :func:`accept_rate_at` counts them): assets with the same score are accepted together, and the
    points inside such a run depend on the order the tied assets were given in.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_cost = any(np.isfinite(c.mean_cost).any() for c in curves.values())
    fig, axes = plt.subplots(1, 2 if has_cost else 1, figsize=(10 if has_cost else 5.5, 4.2), squeeze=False,
                             layout="constrained")
    ax = axes[0, 0]
    for name, c in curves.items():
        r = _reachable(c)
        at = f" at error ≤ {max_error:.0%}" if max_error is not None else " with no error"
        ax.plot(c.coverage[r], c.error[r], label=f"{name} (accept {accept_rate_at(c, max_error or 0.0):.0%}{at})")
    if max_error is not None:
        ax.axhline(max_error, ls="--", color="grey", lw=1, label=f"error target {max_error:.0%}")
    ax.set_xlabel("auto-accept rate")
    ax.set_ylabel("error among accepted")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.suptitle(title)  # over both panels (it sat over the error panel alone)
    if has_cost:
        ax2 = axes[0, 1]
        for name, c in curves.items():
            r = _reachable(c)
            ax2.plot(c.coverage[r], c.mean_cost[r], label=name)
        ax2.set_xlabel("auto-accept rate")
        ax2.set_ylabel(f"mean cost among accepted ({cost_unit})")
        ax2.set_xlim(0, 1)
        ax2.legend(fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
