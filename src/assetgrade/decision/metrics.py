"""One metrics dictionary for a set of graded assets: accuracy, QWK, ECE, conformal coverage, cost, auto-accept.

Used by ``assetgrade evaluate`` and ``assetgrade bench fusion`` so both report the same figures
the same way: quadratic weighted kappa (Cohen 1968), top-label ECE (Guo et al. 2017), conformal
coverage and mean set size, expected and realised misgrading cost per asset under the Bayes
decision, and the largest auto-accept rate whose accepted error stays within ``max_error``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.decision.costs import bayes_grades, expected_costs
from assetgrade.decision.risk import accept_rate_at, risk_coverage
from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import (
    as_labels,
    as_proba,
    classwise_ece,
    debiased_ece,
    expected_calibration_error,
    negative_log_likelihood,
)
from assetgrade.fusion.conformal import ConformalResult

__all__ = ["grade_metrics", "quadratic_weighted_kappa"]


def quadratic_weighted_kappa(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int) -> float:
    """Cohen's kappa with quadratic weights over ``n_classes`` ordered grades (1 = perfect agreement).

    ``1 - sum(W * O) / sum(W * E)`` with ``W[i, j] = (i - j)^2 / (k - 1)^2``, ``O`` the observed
    and ``E`` the chance table (outer product of the margins), as in Cohen (1968) and
    ``sklearn.metrics.cohen_kappa_score(weights="quadratic")``. Degenerate cases: chance-level
    agreement (``O`` equal to ``E``, e.g. one grade predicted for every item) gives 0.0. One grade
    in the truth gives NaN: there ``O`` equals ``E`` whatever was predicted, so kappa is 0 for
    any mistake and 0 / 0 for none, a figure that says nothing about the predictions (a golden
    set of one grade scored QWK 0 against 50% accuracy). No items give NaN.

    Examples
    --------
    >>> quadratic_weighted_kappa([0, 1, 2, 3], [0, 1, 2, 3], 4)
    1.0
    >>> quadratic_weighted_kappa([2, 2, 2], [2, 1, 2], 4), quadratic_weighted_kappa([0, 1, 2], [1, 1, 1], 4)
    (nan, 0.0)
    """
    a = as_labels(y_true, n_classes, where="y_true")
    b = as_labels(y_pred, n_classes, where="y_pred")
    if len(a) != len(b):
        raise ValidationError(f"{len(a)} true grades against {len(b)} predicted ones", where="y_pred")
    if len(a) == 0 or np.all(a == a[0]):
        return float("nan")
    obs = np.zeros((n_classes, n_classes))
    np.add.at(obs, (a, b), 1.0)
    E = np.outer(obs.sum(1), obs.sum(0)) / obs.sum()
    i, j = np.indices((n_classes, n_classes))
    W = ((i - j) ** 2) / max((n_classes - 1) ** 2, 1)
    denom = float((W * E).sum())
    return 1.0 if denom == 0 else float(1.0 - (W * obs).sum() / denom)


def _debiased(p: npt.NDArray[np.float64], y: npt.NDArray[np.int64], n_bins: int) -> dict[str, float]:
    d = debiased_ece(p, y, n_bins=n_bins)
    return {"ece_debiased": d["estimate"], "ece_debiased_high": d["high"]}


def grade_metrics(
    proba: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    cost: npt.ArrayLike | None = None,
    conformal: ConformalResult | None = None,
    max_error: float = 0.02,
    n_bins: int = 15,
) -> dict[str, Any]:
    """The standard figures for predictions ``proba`` against true grade indices ``y``.

    ``accuracy`` and ``qwk`` score the most likely grade (the argmax). With a cost matrix, the
    minimum-expected-cost grade is scored too: ``bayes_accuracy``, and ``expected_cost`` /
    ``realised_cost`` per asset (mean).
    """
    p = as_proba(proba)
    k = p.shape[1]
    yy = as_labels(y, k, rows=len(p))
    argmax = p.argmax(axis=1)
    out: dict[str, Any] = {
        "n": len(yy),
        "accuracy": float((argmax == yy).mean()),
        "qwk": quadratic_weighted_kappa(yy, argmax, k),
        "ece": expected_calibration_error(p, yy, n_bins=n_bins),
        **_debiased(p, yy, n_bins),
        "classwise_ece": classwise_ece(p, yy, n_bins=n_bins),
        "nll": negative_log_likelihood(p, yy),
    }
    if cost is not None:
        C = np.asarray(cost, dtype=np.float64)
        ec = expected_costs(p, C)
        pred = bayes_grades(ec)
        out["bayes_accuracy"] = float((pred == yy).mean())
        out["expected_cost"] = float(ec.min(axis=1).mean())
        out["realised_cost"] = float(C[yy, pred].mean())
    rc = risk_coverage(p, yy, cost=cost)
    out[f"accept_rate_at_{max_error:g}_error"] = accept_rate_at(rc, max_error)
    if conformal is not None:
        out["coverage"] = conformal.coverage(yy)
        out["mean_set_size"] = conformal.mean_size()
        out["singleton_rate"] = float((conformal.sizes() == 1).mean())
    return out
