"""The sensor grade model (logistic regression on window features or the predicted RUL) and its grade distribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assetgrade.modalities.penalty import choose_penalty
from assetgrade.modalities.sensors.grading import RulGradeMap
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.modalities.sensors.rul_evidence import RUL_FEATURES, rul_column

__all__ = ["SENSOR_C_GRID", "choose_c", "classifier_input", "grade_proba", "new_classifier"]

SENSOR_C_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""L2 strengths (inverse) the window-feature grade model chooses from with ``C="auto"``."""


def new_classifier(C: float) -> Any:
    """A logistic regression of inverse L2 strength ``C`` on standardised inputs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))


def classifier_input(feats: np.ndarray, *, reads_rul: bool) -> np.ndarray:
    """The grade model's input: the predicted RUL when there is a RUL model, else the window features.

    The RUL point alone was measured better than the RUL together with the window features
    (which over-fit a few hundred labelled assets) on the linked benchmark: docs/sensors.md.
    """
    if reads_rul:
        return np.asarray(np.nan_to_num(feats[:, [rul_column(feats.shape[1])]]), dtype=float)
    return np.asarray(np.nan_to_num(feats[:, : -len(RUL_FEATURES)]), dtype=float)


def choose_c(
    X: np.ndarray, y: Sequence[str], groups: Sequence[Any], *, penalty: float | str, reads_rul: bool
) -> tuple[float, dict[float, float]]:
    """The grade model's C, and the held-out log-loss of each C tried (empty when none was).

    ``penalty`` is the extractor's ``C``: a number is used as it is; ``"auto"`` chooses from
    :data:`SENSOR_C_GRID` by 3-fold stratified log-loss grouped by ``groups``, except for a model
    that reads the predicted RUL alone, which uses C = 1.
    """
    if penalty == "auto" and not reads_rul:
        kinds = sorted(set(y))
        yk = np.array([kinds.index(g) for g in y], dtype=np.int64)

        def fit_predict(tr: np.ndarray, te: np.ndarray, C: float) -> np.ndarray:
            model = new_classifier(C).fit(X[tr], yk[tr])
            out = np.zeros((len(te), len(kinds)))
            out[:, model.classes_] = model.predict_proba(X[te])
            return out

        return choose_penalty(fit_predict, yk, groups=groups, grid=SENSOR_C_GRID, fallback=1.0)
    return (1.0 if penalty == "auto" else float(penalty)), {}


def grade_proba(
    feats: np.ndarray,
    present: np.ndarray,
    ruls: np.ndarray,
    *,
    grade_map: RulGradeMap,
    classifier: Any,
    reads_rul: bool,
    rul_model: RulModel | None,
) -> np.ndarray | None:
    """Each asset's grade distribution in ``grade_map``'s grade order (NaN rows for absent assets).

    It comes from the grade model (``classifier``), or, with a RUL model and no grade model that
    reads the RUL, from the RUL interval (``ruls``: point, lower, upper) through ``grade_map``;
    None without either.
    """
    out = np.full((len(feats), len(grade_map.grades)), np.nan)
    has_rul = rul_model is not None
    # a grade model fitted before fit_rul reads the window features: the RUL interval is preferred then
    use_classifier = classifier is not None and (reads_rul or not has_rul)
    if rul_model is not None:
        present = present & np.isfinite(ruls).all(axis=1)
        if not use_classifier:
            if present.any():
                out[present] = grade_map.proba(ruls[present, 0], ruls[present, 1], ruls[present, 2],
                                               coverage=rul_model.coverage)
            return out
    if not use_classifier:
        return None
    if present.any():
        p = classifier.predict_proba(classifier_input(feats[present], reads_rul=reads_rul))
        cols = [list(classifier.classes_).index(g) if g in classifier.classes_ else -1 for g in grade_map.grades]
        rows = np.zeros((int(present.sum()), len(grade_map.grades)))
        for j, k in enumerate(cols):
            if k >= 0:
                rows[:, j] = p[:, k]
        out[present] = rows
    return out
