"""The remaining-life part of sensor evidence: the RUL columns, each series' model input and the RUL finding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from assetgrade.modalities.base import Finding
from assetgrade.modalities.sensors.grading import RulGradeMap
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.store.records import AssetRecord

__all__ = ["RUL_FEATURES", "RUL_SUMMARY", "RulInput", "add_rul", "hint_learned_grades", "rul_column", "rul_input"]

RUL_FEATURES: tuple[str, ...] = ("health_index", "rul", "rul_lower", "rul_upper", "n_events")
"""The last columns of every sensor feature row (NaN until the RUL model has predicted)."""

RUL_SUMMARY = "remaining useful life"
"""How the RUL finding's summary begins (the learned grade bands rewrite that finding's grade)."""


@dataclass(frozen=True)
class RulInput:
    """One series' RUL feature row at its last cycle, kept until the whole batch is predicted at once."""

    x: np.ndarray
    evidence_id: str
    window: tuple[float, float]


def rul_column(n_features: int) -> int:
    """Where the predicted RUL sits in a sensor feature row ``n_features`` wide."""
    return n_features - len(RUL_FEATURES) + RUL_FEATURES.index("rul")


def rul_input(
    model: RulModel, given: pd.DataFrame, raw: pd.DataFrame, evidence_id: str, need: Sequence[str]
) -> tuple[RulInput | None, str | None]:
    """The RUL model's input row at the series' last row and None, or None and the quality flag saying why not.

    ``given`` is the series as loaded, ``raw`` the checked frame (``need``: the columns that check required).
    """
    trained = getattr(model, "row_time_", None)  # models saved before it was recorded: not checked
    why = trained.mismatch(given) if trained is not None else None
    if why:  # a remaining life counted in rows that mean another time would be wrong by that factor
        return None, f"{evidence_id}: no remaining life: {why}"
    done = set(model.required_columns()) <= set(need)  # the model's columns passed the check above
    x = model.features(raw, evidence_id, checked=done, last_only=True).to_numpy(float)[-1]
    end = float(raw.index[-1])  # the remaining life as of the last reading: a moment, not a stretch of the series
    return RulInput(x, evidence_id, (end, end)), None


def add_rul(
    model: RulModel,
    rows: list[int],
    inputs: list[RulInput],
    feats: np.ndarray,
    ruls: np.ndarray,
    findings: list[list[Finding]],
    *,
    grade_map: RulGradeMap,
    time_unit: str,
) -> None:
    """Predict RUL for every series at once (one call per LightGBM model), fill row ``rows[k]`` of ``feats``
    (RUL columns) and ``ruls`` (point, lower, upper), and add the RUL finding to ``findings[k]``."""
    p = model.predict_features(np.vstack([r.x for r in inputs]))
    for k, (i, r) in enumerate(zip(rows, inputs, strict=True)):
        vals = [float(p.health_index[k]), float(p.rul[k]), float(p.lower[k]), float(p.upper[k])]
        feats[i, -5:-1] = vals
        ruls[i] = vals[1:]
        grade = grade_map.grade_for(vals[1])
        findings[k].append(
            Finding(
                modality="sensors",
                summary=f"{RUL_SUMMARY} {vals[1]:.0f} {time_unit} "
                f"({p.coverage:.0%} interval {vals[2]:.0f}-{vals[3]:.0f}); "
                f"health index {vals[0]:.2f}: grade {grade}",
                severity=float(1.0 - vals[1] / model.cap),
                confidence=p.coverage,
                evidence_id=r.evidence_id,
                window=r.window,
                channels=tuple(model.channels_),
                grade_hint=grade,
            )
        )


def hint_learned_grades(
    records: Sequence[AssetRecord], findings: dict[str, list[Finding]], proba: np.ndarray, grades: Sequence[str]
) -> None:
    """The RUL finding names the grade the learned bands give, not the default thresholds' grade."""
    for i, r in enumerate(records):
        if r.asset_id not in findings or not np.all(np.isfinite(proba[i])):
            continue
        g = grades[int(np.argmax(proba[i]))]
        findings[r.asset_id] = [
            replace(f, grade_hint=g, summary=f"{f.summary.rsplit(': grade ', 1)[0]}: grade {g}")
            if f.summary.startswith(RUL_SUMMARY) else f
            for f in findings[r.asset_id]
        ]
