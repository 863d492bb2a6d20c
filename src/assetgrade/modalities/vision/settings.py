"""Checks of the vision extractor's settings, at construction, so ``config check`` sees a bad one before training."""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import check_penalty
from assetgrade.seeds import SEED_MAX

__all__ = ["SEED_MAX", "as_number", "check_settings", "check_views"]


_VIEW = re.compile(r"^(hflip|vflip|rot[+-][0-9]+(\.[0-9]+)?)$")


def check_views(views: Sequence[str] | str, where: str = "VisionExtractor.augment") -> tuple[str, ...]:
    """``views`` as a tuple, or a ValidationError naming ``where`` for an unknown or repeated view."""
    out = (views,) if isinstance(views, str) else tuple(views)
    bad = [v for v in out if not isinstance(v, str) or not _VIEW.match(v)]
    if bad or len(set(out)) != len(out):
        raise ValidationError(f"augment={list(out)!r}: each view once, from 'hflip', 'vflip', 'rot+N', 'rot-N' "
                              "(degrees); [] for none", where=where)
    return out


def as_number(value: Any) -> Any:
    """A string holding a number as that float (YAML 1.1 reads ``1e-3`` as a string), anything else unchanged.

    >>> as_number("1e-3"), as_number("auto"), as_number(0.5)
    (0.001, 'auto', 0.5)
    """
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _real(value: Any) -> bool:
    """A real number, numpy's included (settings given from code may be numpy scalars); not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _int(ex: Any, name: str, low: int, high: int | None = None) -> None:
    """Refuse ``ex.<name>`` unless a whole number in ``low..high``; a numpy one is kept as the Python int it holds
    (the backbone library takes only an ``int`` image size)."""
    value = getattr(ex, name)
    ok = (_real(value) and isinstance(value, numbers.Integral) and int(value) >= low
          and (high is None or int(value) <= high))
    if not ok:
        allowed = f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"
        raise ValidationError(f"{name}={value!r}; allowed: {allowed}", where=f"VisionExtractor.{name}")
    setattr(ex, name, int(value))


def check_settings(ex: Any) -> None:
    """Refuse a setting of the VisionExtractor ``ex`` that would fail (or be misread) only deep inside a fit.

    Each message names the setting, the value and what is allowed. Numbers may be numpy's; whole-number
    settings are kept as Python ints.
    """
    from assetgrade.modalities.vision.backbone import BACKBONES

    if ex.grade_head not in ("auto", "ordinal", "logistic"):
        raise ValidationError(f"grade_head={ex.grade_head!r}; allowed: 'auto', 'ordinal', 'logistic'",
                              where="VisionExtractor.grade_head")
    if ex.quality_factors not in ("learned", "fixed"):
        raise ValidationError(f"quality_factors={ex.quality_factors!r}; allowed: 'learned', 'fixed'",
                              where="VisionExtractor.quality_factors")
    check_views(ex.augment)
    if ex.backbone not in BACKBONES:
        raise ValidationError(f"backbone={ex.backbone!r}; allowed: {sorted(BACKBONES)}",
                              where="VisionExtractor.backbone")
    _int(ex, "image_size", 32, 1024)
    if ex.image_size % 32:
        raise ValidationError(f"image_size={ex.image_size}; allowed: a multiple of 32 in 32..1024",
                              where="VisionExtractor.image_size")
    if ex.engine not in ("auto", "onnx", "torch"):
        raise ValidationError(f"engine={ex.engine!r}; allowed: 'auto', 'onnx', 'torch'", where="VisionExtractor.engine")
    check_penalty(ex.C, "VisionExtractor")
    tfa = ex.target_false_alarm
    if not (_real(tfa) and 0 < float(tfa) < 1):  # nan is not in (0, 1)
        raise ValidationError(f"target_false_alarm={tfa!r}; allowed: a share of good photos in (0, 1)",
                              where="VisionExtractor.target_false_alarm")
    _int(ex, "coreset_size", 1)
    _int(ex, "batch_size", 1)
    _int(ex, "seed", 0, SEED_MAX)
    if ex.mil not in (True, False, "auto") or not isinstance(ex.mil, bool | str):
        raise ValidationError(f"mil={ex.mil!r}; allowed: True, False or 'auto'", where="VisionExtractor.mil")
    _int(ex, "mil_rounds", 0)
    grades = ex.grades
    if grades is not None and (len(grades) < 2 or len(set(grades)) != len(grades)
                               or not all(isinstance(g, str) and g for g in grades)):
        raise ValidationError(f"grades={list(grades)!r}; allowed: two or more distinct names, best first",
                              where="VisionExtractor.grades")
