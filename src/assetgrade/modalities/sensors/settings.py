"""Checks of the sensors extractor's settings, at construction, so ``config check`` sees a bad one before training."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import check_penalty
from assetgrade.modalities.sensors.features import check_slope_windows
from assetgrade.modalities.sensors.grading import RulGradeMap
from assetgrade.modalities.sensors.health import RulModel

__all__ = ["check_settings"]


def _fail(name: str, value: Any, allowed: str) -> ValidationError:
    return ValidationError(f"{name}={value!r}; allowed: {allowed}", where=f"SensorExtractor.{name}")


def _whole(value: Any, low: int) -> bool:
    """A whole number >= ``low`` (numpy's included; not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_) and int(value) >= low


def _positive(value: Any, low: float = 0.0) -> bool:
    """A finite number > ``low`` (numpy's included; not a bool)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
            and math.isfinite(float(value)) and float(value) > low)


def check_settings(ex: Any, rul_settings: Any = None) -> None:
    """Refuse a setting of the SensorExtractor ``ex`` that would fail (or be misread) only deep inside a fit.

    Each message names the setting, the value and what is allowed; ``where`` is ``SensorExtractor.<setting>``
    (``config check`` names it at ``grader.extractor_settings.sensors.<setting>``). ``seed`` and ``rul_settings``'
    entries are checked by the RUL model the extractor builds from them; ``rul_settings`` as given (a mapping).
    """
    for name in ("window", "recent_window", "n_bands", "min_length"):
        if not _whole(getattr(ex, name), 1):
            raise _fail(name, getattr(ex, name), "a whole number >= 1")
    check_slope_windows(ex.slope_windows, "SensorExtractor")
    if not _positive(ex.z_threshold):
        raise _fail("z_threshold", ex.z_threshold, "a finite number > 0")
    if not _positive(ex.rms_ratio, 1.0):
        raise _fail("rms_ratio", ex.rms_ratio, "a finite number > 1 (the RMS growth that makes a finding)")
    check_penalty(ex.C, "SensorExtractor")
    if not (isinstance(ex.time_unit, str) and ex.time_unit.strip()):
        raise _fail("time_unit", ex.time_unit, "a non-empty word for the time index's unit ('cycles', 'hours'...)")
    if ex.grade_map is not None and not isinstance(ex.grade_map, RulGradeMap):
        raise _fail("grade_map", ex.grade_map, "a RulGradeMap, or none")
    if ex.grades is not None and ex.grade_map is not None and tuple(ex.grade_map.grades) != tuple(ex.grades):
        raise ValidationError(f"grade_map grades {list(ex.grade_map.grades)} differ from grades={list(ex.grades)}",
                              where="SensorExtractor.grade_map")
    if ex.rul_model is not None and not isinstance(ex.rul_model, RulModel):
        raise _fail("rul_model", ex.rul_model, "a RulModel (in the workspace file: a saved fleet RUL model's "
                    "folder), or none")
    if rul_settings is not None and not isinstance(rul_settings, Mapping):
        raise _fail("rul_settings", rul_settings, "a mapping of RulModel settings, or none")
