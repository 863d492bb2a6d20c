"""Champion/challenger evaluation on a golden set: metrics overall and per subgroup, and the promotion rule.

Metrics of a model's grade results against the frozen labels: accuracy and quadratic weighted
kappa of the decided grade (Cohen 1968), top-label expected calibration error of the
probabilities (Guo et al. 2017, "On calibration of modern neural networks", ICML), the mean
expected cost the model itself reports, the realised misgrading cost under the workspace cost
matrix (scaled by each asset's value), and the review rate. The same figures are computed per
subgroup (asset type, modality mix, source...).

:func:`compare` applies a :class:`PromotionPolicy`: a challenger is refused when it is worse
than the champion by more than the tolerance on any metric overall, or on accuracy in any
subgroup with enough assets on both sides.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetgrade.decision.costs import CostConfig, cost_matrix
from assetgrade.decision.metrics import quadratic_weighted_kappa
from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import expected_calibration_error
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord

__all__ = [
    "HIGHER_IS_BETTER",
    "Comparison",
    "GoldenEvaluation",
    "Predictor",
    "PromotionPolicy",
    "compare",
    "evaluate_on_golden",
    "grade_set_metrics",
    "subgroup_of",
]

HIGHER_IS_BETTER = {"accuracy": True, "qwk": True, "ece": False, "expected_cost": False, "realised_cost": False}
"""The compared metrics and their direction."""


class Predictor(Protocol):
    """What the registry needs of a model: grade a batch of records (the Grader offers this)."""

    def grade_many(self, records: Sequence[AssetRecord]) -> Sequence[GradeResult]: ...


def subgroup_of(record: AssetRecord, key: str) -> str:
    """The subgroup value of ``record`` for ``key``: asset_type, modalities, or an attribute."""
    if key == "asset_type":
        return record.asset_type
    if key == "modalities":
        return "+".join(record.modalities()) or "none"
    value = (record.attributes or {}).get(key)
    return "unknown" if value is None else str(value)


def grade_set_metrics(
    results: Sequence[GradeResult], labels: Sequence[str], grades: Sequence[str],
    *, costs: CostConfig | None = None, values: Sequence[float | None] | None = None,
) -> dict[str, float]:
    """Accuracy, QWK, ECE, expected and realised cost, review rate of ``results`` against ``labels``.

    Examples
    --------
    >>> r = GradeResult("a", {"A": 0.9, "B": 0.1}, "A", ("A",), 0.9, 1.0, "accept")
    >>> m = grade_set_metrics([r, r], ["A", "B"], ["A", "B"])
    >>> m["accuracy"], m["n"]
    (0.5, 2.0)
    """
    k = len(grades)
    index = {g: i for i, g in enumerate(grades)}
    if len(results) != len(labels):
        raise ValidationError(f"{len(results)} results for {len(labels)} labels", where="golden evaluation")
    n = len(results)
    if n == 0:
        return {"n": 0.0}
    for lab in labels:
        if lab not in index:
            raise ValidationError(f"label {lab!r} is not a grade of {list(grades)}", where="golden labels")
    y = np.array([index[lab] for lab in labels])
    pred = np.array([index.get(r.grade, -1) for r in results])
    if (pred < 0).any():
        bad = results[int(np.flatnonzero(pred < 0)[0])]
        raise ValidationError(f"result grade {bad.grade!r} is not one of {list(grades)}", where=bad.asset_id)
    proba = np.array([[float(r.probabilities.get(g, 0.0)) for g in grades] for r in results])
    proba = proba / np.maximum(proba.sum(1, keepdims=True), 1e-12)
    cfg = costs or CostConfig(grades=tuple(grades))  # default_prices for this scale, as train uses
    vals = list(values) if values is not None else [None] * n
    realised = [float(cost_matrix(cfg, v)[y[i], pred[i]]) for i, v in enumerate(vals)]
    return {
        "n": float(n),
        "accuracy": float((pred == y).mean()),
        "qwk": quadratic_weighted_kappa(y, pred, k),
        "ece": expected_calibration_error(proba, y),
        "expected_cost": float(np.mean([r.expected_cost for r in results])),
        "realised_cost": float(np.mean(realised)),
        "review_rate": float(np.mean([r.decision == "review" for r in results])),
    }


@dataclass
class GoldenEvaluation:
    """One model's figures on one golden set, overall and per subgroup."""

    golden: str
    content_hash: str
    model_version: str | None
    overall: dict[str, float]
    subgroups: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the registry)."""
        return {"golden": self.golden, "content_hash": self.content_hash, "model_version": self.model_version,
                "overall": self.overall, "subgroups": self.subgroups}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GoldenEvaluation:
        """Inverse of :meth:`to_dict`."""
        return cls(d["golden"], d["content_hash"], d.get("model_version"), dict(d["overall"]),
                   {k: dict(v) for k, v in d.get("subgroups", {}).items()})


def evaluate_on_golden(
    model: Predictor, records: Sequence[AssetRecord], *, grades: Sequence[str], golden: str, content_hash: str,
    model_version: str | None = None, costs: CostConfig | None = None,
    subgroups: Sequence[str] = ("asset_type", "modalities", "source"),
) -> GoldenEvaluation:
    """Grade the golden ``records`` (their ``grade`` = frozen label) and compute the figures."""
    labels = [r.grade for r in records]
    if any(lab is None for lab in labels):
        raise ValidationError("every golden record needs its frozen grade", where="golden evaluation")
    results = list(model.grade_many(list(records)))
    by_id = {r.asset_id: r for r in results}
    missing = [r.asset_id for r in records if r.asset_id not in by_id]
    if missing:
        raise ValidationError(f"the model returned no result for {missing[:5]}", where="golden evaluation")
    ordered = [by_id[r.asset_id] for r in records]
    values = [r.value for r in records]
    overall = grade_set_metrics(ordered, [str(x) for x in labels], grades, costs=costs, values=values)
    groups: dict[str, dict[str, dict[str, float]]] = {}
    for key in subgroups:
        members: dict[str, list[int]] = defaultdict(list)
        for i, rec in enumerate(records):
            members[subgroup_of(rec, key)].append(i)
        if len(members) < 2:
            continue
        groups[key] = {
            v: grade_set_metrics([ordered[i] for i in idx], [str(labels[i]) for i in idx], grades, costs=costs,
                                 values=[values[i] for i in idx])
            for v, idx in sorted(members.items())
        }
    return GoldenEvaluation(golden, content_hash, model_version, overall, groups)


class PromotionPolicy(BaseModel):
    """How much worse than the champion a challenger may be on the golden set (the ``lifecycle:`` config section).

    Examples
    --------
    >>> PromotionPolicy().tolerance["accuracy"]
    0.01
    """

    model_config = ConfigDict(extra="forbid")

    tolerance: dict[str, float] = Field(default_factory=lambda: {
        "accuracy": 0.01, "qwk": 0.02, "ece": 0.02, "expected_cost": 0.05, "realised_cost": 0.05})
    """Absolute slack for accuracy, QWK, ECE; relative slack (share of the champion's value) for costs."""
    subgroup_tolerance: float = Field(0.05, ge=0, description="accuracy slack within a subgroup")
    min_subgroup_n: int = Field(20, ge=1, description="subgroups smaller than this are reported, not enforced")

    @field_validator("tolerance")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        """Only the compared metrics, each a slack >= 0: a NaN slack lets every regression through (inf: ungated)."""
        unknown = sorted(set(value) - set(HIGHER_IS_BETTER))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {list(HIGHER_IS_BETTER)}")
        bad = {k: v for k, v in value.items() if math.isnan(v) or v < 0}
        if bad:
            raise ValueError(f"tolerances must be numbers >= 0 (not NaN), got {bad}")
        return value


@dataclass
class Comparison:
    """Challenger vs champion: ok, the regressions found, and every delta (challenger - champion)."""

    ok: bool
    regressions: list[str]
    deltas: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ok": self.ok, "regressions": self.regressions, "deltas": self.deltas}


def compare(champion: GoldenEvaluation, challenger: GoldenEvaluation, policy: PromotionPolicy) -> Comparison:
    """Apply ``policy``: the challenger must not be worse than the champion beyond the tolerances.

    Examples
    --------
    >>> a = GoldenEvaluation("g", "h", "v1", {"accuracy": 0.9})
    >>> b = GoldenEvaluation("g", "h", "v2", {"accuracy": 0.8})
    >>> compare(a, b, PromotionPolicy()).regressions
    ['accuracy 0.8000 vs champion 0.9000 (tolerance 0.01)']
    """
    if champion.content_hash != challenger.content_hash:
        raise ValidationError("champion and challenger were evaluated on different golden sets", where="compare")
    regressions: list[str] = []
    deltas: dict[str, float] = {}
    for metric, higher in HIGHER_IS_BETTER.items():
        a, b = champion.overall.get(metric), challenger.overall.get(metric)
        if a is None or not np.isfinite(a):
            continue  # the champion has no figure: nothing to compare with
        if b is None or not np.isfinite(b):  # NaN (stored as null) from a broken model must not skip the gate
            regressions.append(f"{metric} {b} vs champion {a:.4f}: the challenger has no finite figure")
            continue
        deltas[metric] = b - a
        tol = policy.tolerance.get(metric, 0.0)
        if metric.endswith("_cost"):
            tol = tol * abs(a)
        worse = (a - b) if higher else (b - a)
        if worse > tol + 1e-12:
            regressions.append(f"{metric} {b:.4f} vs champion {a:.4f} (tolerance {tol:.4g})")
    for key, groups in challenger.subgroups.items():
        for value, m in groups.items():
            c = champion.subgroups.get(key, {}).get(value)
            if c is None or min(m.get("n", 0.0), c.get("n", 0.0)) < policy.min_subgroup_n:
                continue
            ours, theirs = m.get("accuracy"), c.get("accuracy")
            if theirs is None or not np.isfinite(theirs):
                continue
            if ours is None or not np.isfinite(ours):
                regressions.append(f"accuracy on {key}={value} {ours} vs champion {theirs:.4f}: no finite figure")
                continue
            d = ours - theirs
            deltas[f"{key}={value}:accuracy"] = d
            if -d > policy.subgroup_tolerance + 1e-12:
                regressions.append(f"accuracy on {key}={value} {ours:.4f} vs champion {theirs:.4f}"
                                   f" (tolerance {policy.subgroup_tolerance:g})")
    return Comparison(not regressions, regressions, deltas)
