"""The Grader's decision step and its out-of-fold figures.

The decision is :class:`~assetgrade.decision.DecisionPolicy` (Bayes grade under the cost matrix,
review on expected cost, conformal set size and contradictions; Chow 1970) plus one rule of the
Grader's: an image-quality flag (blurry, under/over-exposed, glare, low resolution, unreadable)
sends the asset to review, since the vision evidence it rests on is weaker than the model assumes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.decision import CostConfig, Decision, DecisionPolicy, cost_matrix
from assetgrade.decision.metrics import grade_metrics
from assetgrade.fusion import ConformalResult

__all__ = ["IMAGE_QUALITY_FLAGS", "decide_asset", "image_quality_flags", "stack_metrics"]

IMAGE_QUALITY_FLAGS: tuple[str, ...] = (
    "blurry", "underexposed", "overexposed", "glare", "low_resolution", "unreadable",
)

FloatArray = npt.NDArray[np.float64]


def image_quality_flags(flags: Sequence[str]) -> list[str]:
    """The vision flags that say an image is of poor quality (e.g. ``img-3:blurry``, ``unreadable:img-4``)."""
    return [f for f in flags if any(q in f for q in IMAGE_QUALITY_FLAGS)]


def decide_asset(
    policy: DecisionPolicy,
    proba: FloatArray,
    *,
    conformal_set: Sequence[str],
    contradictions: Sequence[str],
    value: float | None,
    image_flags: Sequence[str],
    review_on_quality: bool = True,
) -> Decision:
    """The policy's decision, sent to review when an image-quality flag is raised."""
    d = policy.decide(
        proba, conformal_set=conformal_set, contradictions=contradictions, value=value, quality_flags=image_flags
    )
    if not np.isfinite(policy.threshold()):
        msg = "no expected-cost threshold could be certified for the error target on the training data"
        d = dataclasses.replace(d, reasons=tuple(
            f"{r.split(' is above the threshold')[0]}: {msg}, so every asset is reviewed"
            if " is above the threshold -inf" in r else r for r in d.reasons))
    if review_on_quality and image_flags and d.action == "accept":
        reasons = [r for r in d.reasons if not r.startswith(f"grade {d.grade} has the lowest")]
        reasons.insert(0, f"image quality flags lower the confidence of the vision evidence: {', '.join(image_flags)}")
        d = dataclasses.replace(d, action="review", reasons=tuple(reasons))
    return d


def stack_metrics(
    proba: FloatArray,
    y: npt.NDArray[np.int64],
    membership: npt.NDArray[np.bool_],
    *,
    grades: Sequence[str],
    costs: CostConfig,
    values: Sequence[float | None],
    decisions: Sequence[Decision] | None = None,
    max_error: float = 0.02,
) -> dict[str, Any]:
    """Accuracy, QWK, ECE, NLL, coverage, set size, expected and realised cost per asset, accept rates."""
    conf = ConformalResult(membership, np.zeros(len(y)), np.zeros(len(y), dtype=bool), tuple(grades))
    out = grade_metrics(proba, y, cost=cost_matrix(costs, None), conformal=conf, max_error=max_error)
    exp, real = [], []
    for i, v in enumerate(values):
        ec = proba[i] @ cost_matrix(costs, v)
        g = int(np.argmin(ec))
        exp.append(float(ec[g]))
        real.append(float(cost_matrix(costs, v)[y[i], g]))
    out["expected_cost"] = float(np.mean(exp)) if exp else float("nan")
    out["realised_cost"] = float(np.mean(real)) if real else float("nan")
    out["accept_rate_at_error"] = out.pop(f"accept_rate_at_{max_error:g}_error")
    out["max_error"] = max_error
    if decisions is not None:
        acc = np.array([d.action == "accept" for d in decisions])
        pred = np.array([d.grade_index for d in decisions])
        out["auto_accept_rate"] = float(acc.mean()) if len(acc) else 0.0
        out["accepted_error"] = float((pred[acc] != y[acc]).mean()) if acc.any() else 0.0
        out["accepted_cost"] = float(np.mean([real[i] for i in np.flatnonzero(acc)])) if acc.any() else 0.0
        reviewed = ~acc
        out["review_rate"] = float(reviewed.mean()) if len(acc) else 0.0
    return out
