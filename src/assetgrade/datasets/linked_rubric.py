"""The linked benchmark's labelling rubric: sensor and log levels from RUL and MaintIE entities, and the grade.

``points = v + s + t`` over the image, sensor and log levels (0..8); A when points <= 1, B when
<= 3, C when <= 5, D otherwise; never better than C when ``v == 3`` or ``s == 3``. See
:mod:`assetgrade.datasets.linked` for where each level comes from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = ["GRADES", "RUL_BANDS", "SEVERITY_NAMES", "grade_from_levels", "maintie_severity", "rubric_proba",
           "rul_level"]

GRADES: tuple[str, ...] = ("A", "B", "C", "D")
SEVERITY_NAMES = ("routine", "moderate", "severe")


def rul_level(rul: float) -> int:
    """Sensor health level from remaining useful life: 0 (≥125), 1 (75-124), 2 (30-74), 3 (<30)."""
    if rul >= 125:
        return 0
    if rul >= 75:
        return 1
    if rul >= 30:
        return 2
    return 3


RUL_BANDS: tuple[tuple[int, int], ...] = ((125, 10_000), (75, 124), (30, 74), (0, 29))
"""The (lowest, highest) remaining life of each sensor level, 0..3."""


def maintie_severity(entry: dict[str, Any]) -> int:
    """Severity of one MaintIE text from its gold entity types: 2 severe, 1 moderate, 0 routine."""
    types = [str(e.get("type", "")) for e in entry.get("entities", [])]
    if any(t.startswith(("State/UndesirableState/FailedState", "Property/UndesirableProperty")) for t in types):
        return 2
    if any(t.startswith(("State/UndesirableState", "Process/UndesirableProcess")) for t in types):
        return 1
    return 0


def grade_from_levels(image_level: int, sensor_level: int, log_level: int) -> int:
    """The rubric: grade index (0 = A .. 3 = D) from the three real labels (see the module docstring)."""
    points = image_level + sensor_level + log_level
    g = 0 if points <= 1 else 1 if points <= 3 else 2 if points <= 5 else 3
    if image_level == 3 or sensor_level == 3:
        g = max(g, 2)
    return g


def rubric_proba(
    vision: npt.ArrayLike, sensors: npt.ArrayLike, text: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Grade distribution implied by the rubric for independent level distributions per modality.

    Each argument is an (n, k) array of probabilities over one modality's levels (columns beyond
    the rubric's range -- sensor and image level 3, log level 2 -- count as the highest level).
    Returns P(grade) = sum over level triples of P(v) P(s) P(t) [rubric(v, s, t) = grade], the
    best any fusion model can do with these distributions when the rubric is known and the
    modalities are independent given their levels, as they are in the benchmark.

    >>> import numpy as np
    >>> p = rubric_proba([[0, 0, 0, 1]], [[1, 0, 0, 0]], [[0.5, 0.5, 0, 0]])
    >>> p.round(2).tolist()
    [[0.0, 0.0, 1.0, 0.0]]
    """
    arrs = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (vision, sensors, text)]
    n = arrs[0].shape[0]
    for name, a in zip(("vision", "sensors", "text"), arrs, strict=True):
        if a.shape[0] != n or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValidationError(f"{name}: {a.shape[0]} rows of finite, non-negative probabilities expected "
                                  f"({n} rows in vision)", where=name)
    caps = (3, 3, 2)
    levels = []
    for a, cap in zip(arrs, caps, strict=True):
        lv = np.zeros((n, cap + 1))
        for j in range(a.shape[1]):
            lv[:, min(j, cap)] += a[:, j]
        levels.append(lv / np.clip(lv.sum(axis=1, keepdims=True), 1e-12, None))
    out = np.zeros((n, len(GRADES)))
    for v in range(4):
        for s in range(4):
            for t in range(3):
                out[:, grade_from_levels(v, s, t)] += levels[0][:, v] * levels[1][:, s] * levels[2][:, t]
    return out
