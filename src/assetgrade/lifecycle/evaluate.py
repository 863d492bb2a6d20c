"""Champion/challenger evaluation on a golden set: metrics overall and per subgroup, and the promotion rule.

Metrics of a model's grade results against the frozen labels: accuracy and quadratic weighted
kappa of the decided grade (Cohen 1968), top-label expected calibration error of the
probabilities (Guo et al. 2017, "On calibration of modern neural networks", ICML), the mean
expected cost the model itself reports, the realised misgrading cost under the workspace cost
matrix (scaled by each asset's value), and the review rate. The same figures are computed per
subgroup (asset type, modality mix, source...).

:func:`compare` applies a :class:`PromotionPolicy`: a challenger is refused when it is worse
than the champion by more than the tolerance on any metric overall, or on accuracy in any
subgroup with enough assets on both sides. It and :class:`Comparison` live in
:mod:`assetgrade.lifecycle.comparison` and are re-exported here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetgrade.decision.costs import CostConfig, cost_matrix
from assetgrade.decision.metrics import quadratic_weighted_kappa
from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import expected_calibration_error
from assetgrade.lifecycle.comparison import HIGHER_IS_BETTER, Comparison, compare
from assetgrade.lifecycle.paired import AssetOutcome
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord

__all__ = [
    "GATES",
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

FloatArray = npt.NDArray[np.float64]


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


def _scored(
    results: Sequence[GradeResult], labels: Sequence[str], grades: Sequence[str],
    costs: CostConfig | None, values: Sequence[float | None] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Checked label and decided-grade indices, normalised probabilities and realised cost per result."""
    index = {g: i for i, g in enumerate(grades)}
    n = len(results)
    for lab in labels:
        if lab not in index:
            raise ValidationError(f"label {lab!r} is not a grade of {list(grades)}", where="golden labels")
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    pred = np.array([index.get(r.grade, -1) for r in results], dtype=np.int64)
    if (pred < 0).any():
        bad = results[int(np.flatnonzero(pred < 0)[0])]
        raise ValidationError(f"result grade {bad.grade!r} is not one of {list(grades)}", where=bad.asset_id)
    proba = np.array([[float(r.probabilities.get(g, 0.0)) for g in grades] for r in results])
    proba = proba / np.maximum(proba.sum(1, keepdims=True), 1e-12)
    cfg = costs or CostConfig(grades=tuple(grades))  # default_prices for this scale, as train uses
    vals = list(values) if values is not None else [None] * n
    realised = np.array([float(cost_matrix(cfg, v)[y[i], pred[i]]) for i, v in enumerate(vals)])
    return y, pred, proba, realised


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
    if len(results) != len(labels):
        raise ValidationError(f"{len(results)} results for {len(labels)} labels", where="golden evaluation")
    n = len(results)
    if n == 0:
        return {"n": 0.0}
    y, pred, proba, realised = _scored(results, labels, grades, costs, values)
    return {
        "n": float(n),
        "accuracy": float((pred == y).mean()),
        "qwk": quadratic_weighted_kappa(y, pred, len(grades)),
        "ece": expected_calibration_error(proba, y),
        "expected_cost": float(np.mean([r.expected_cost for r in results])),
        "realised_cost": float(np.mean(realised)),
        "review_rate": float(np.mean([r.decision == "review" for r in results])),
    }


@dataclass
class GoldenEvaluation:
    """One model's figures on one golden set, overall and per subgroup, and its outcome on each asset.

    ``assets`` (asset id -> :class:`~assetgrade.lifecycle.paired.AssetOutcome`) and ``grades``
    (the scale, in order) let :func:`compare` pair two evaluations of the same golden set asset by
    asset; an evaluation stored before they were kept has None and compares on its figures alone.

    Examples
    --------
    >>> ev = GoldenEvaluation("g", "h", "v1", {"accuracy": 1.0}, grades=("A", "B"),
    ...                       assets={"a1": AssetOutcome("A", "A", "A", 0.8, 1.0, 0.0)})
    >>> old = {k: v for k, v in ev.to_dict().items() if k != "assets"}  # stored before outcomes were kept
    >>> GoldenEvaluation.from_dict(ev.to_dict()) == ev, GoldenEvaluation.from_dict(old).assets
    (True, None)
    """

    golden: str
    content_hash: str
    model_version: str | None
    overall: dict[str, float]
    subgroups: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    grades: tuple[str, ...] | None = None
    assets: dict[str, AssetOutcome] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the registry); ``grades``/``assets`` only when kept."""
        out: dict[str, Any] = {"golden": self.golden, "content_hash": self.content_hash,
                               "model_version": self.model_version, "overall": self.overall,
                               "subgroups": self.subgroups}
        if self.grades is not None and self.assets is not None:
            out["grades"] = list(self.grades)
            out["assets"] = {a: o.to_dict() for a, o in self.assets.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GoldenEvaluation:
        """Inverse of :meth:`to_dict`; a stored evaluation without per-asset outcomes loads with ``assets`` None."""
        assets, grades = d.get("assets"), d.get("grades")
        kept = isinstance(assets, dict) and isinstance(grades, list)
        return cls(d["golden"], d["content_hash"], d.get("model_version"), dict(d["overall"]),
                   {k: dict(v) for k, v in d.get("subgroups", {}).items()},
                   tuple(str(g) for g in grades) if kept and grades is not None else None,
                   {str(a): AssetOutcome.from_dict(o) for a, o in assets.items()}
                   if kept and assets is not None else None)


def evaluate_on_golden(
    model: Predictor, records: Sequence[AssetRecord], *, grades: Sequence[str], golden: str, content_hash: str,
    model_version: str | None = None, costs: CostConfig | None = None,
    subgroups: Sequence[str] = ("asset_type", "modalities", "source"),
) -> GoldenEvaluation:
    """Grade the golden ``records`` (their ``grade`` = frozen label), compute the figures, keep each asset's outcome."""
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
    assets: dict[str, AssetOutcome] = {}
    if ordered:
        y, pred, proba, realised = _scored(ordered, [str(x) for x in labels], grades, costs, values)
        top = proba.argmax(1)
        for i, (rec, res) in enumerate(zip(records, ordered, strict=True)):
            assets[rec.asset_id] = AssetOutcome(
                grades[y[i]], grades[pred[i]], grades[top[i]], float(np.clip(proba[i, top[i]], 0.0, 1.0)),
                float(res.expected_cost), float(realised[i]), res.decision == "review",
                {key: subgroup_of(rec, key) for key in subgroups})
    return GoldenEvaluation(golden, content_hash, model_version, overall, groups, tuple(grades), assets)


GATES = ("point", "paired", "non_inferiority")
"""The promotion rules a :class:`PromotionPolicy` can apply (its ``gate``); see :func:`compare`."""


class PromotionPolicy(BaseModel):
    """How much worse than the champion a challenger may be on the golden set (the ``lifecycle:`` config section).

    ``gate`` picks the rule (see :func:`compare`): ``point`` (the default) compares the two
    figures; ``paired`` refuses only what a paired bootstrap interval confirms is worse beyond the
    tolerance; ``non_inferiority`` also refuses what the interval cannot show to be within it.

    Examples
    --------
    >>> PromotionPolicy().tolerance["accuracy"], PromotionPolicy().gate
    (0.01, 'point')
    """

    model_config = ConfigDict(extra="forbid")

    tolerance: dict[str, float] = Field(default_factory=lambda: {
        "accuracy": 0.01, "qwk": 0.02, "ece": 0.02, "expected_cost": 0.05, "realised_cost": 0.05})
    """Absolute slack for accuracy, QWK, ECE; relative slack (share of the champion's value) for costs."""
    subgroup_tolerance: float = Field(0.05, ge=0, description="accuracy slack within a subgroup")
    min_subgroup_n: int = Field(20, ge=1, description="subgroups smaller than this are reported, not enforced")
    gate: Literal["point", "paired", "non_inferiority"] = Field(
        "point", description="point: compare the figures; paired: refuse only when the paired interval confirms"
        " the challenger worse beyond the tolerance; non_inferiority: also refuse when it cannot show it within")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="two-sided level of the paired intervals")
    n_resamples: int = Field(2000, ge=100, le=100_000, description="paired bootstrap resamples of the golden assets")
    seed: int = Field(0, ge=0, description="seed of the paired bootstrap (the same inputs give the same intervals)")

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
