"""Plain JSON data from Python and numpy values: the one conversion the store, benchmarks and registry share."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy scalars and arrays as Python values, NaN and infinities as None,
    paths and datetimes as text, through dicts (keys as text), lists and tuples.

    JSON has no NaN: Python would write the token ``NaN``, which PostgreSQL refuses and which
    breaks SQLite's JSON functions on the whole column.

    >>> jsonable({"a": float("nan"), 1: (np.float64(1.5), np.array([2, np.inf]))})
    {'a': None, '1': [1.5, [2.0, None]]}
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path | datetime):
        return str(obj)
    return obj
