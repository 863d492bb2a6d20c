"""The one reader of an asset's ``expert_labelled`` mark (free JSON from manifests and the REST API).

The mark is true only when it says so: JSON ``true``, the number 1, or the text ``true``,
``yes`` or ``1`` (any case, surrounding spaces ignored). Any other value — ``false``, ``0``,
``"false"``, ``"no"``, ``"maybe"``, a list — is read as *not* expert-labelled: a mark that
cannot be read as yes must never admit an asset to a golden set or count it as expert in
the audit. An asset without the mark (key absent or JSON ``null``) is expert-labelled, the
default since labels come from experts unless said otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXPERT_KEY", "TRUE_WORDS", "expert_mark", "is_expert_labelled"]

EXPERT_KEY = "expert_labelled"
TRUE_WORDS = frozenset({"true", "yes", "1"})


def expert_mark(value: Any) -> bool:
    """One mark's value read as yes/no (None, NaN of any float type and ``pd.NA``: not marked, so yes).

    Examples
    --------
    >>> [expert_mark(v) for v in (True, 1, "TRUE", " yes ", "1", None)]
    [True, True, True, True, True, True]
    >>> [expert_mark(v) for v in (False, 0, "false", "0", "no", "maybe", 2, [], {})]
    [False, False, False, False, False, False, False, False, False]
    """
    # a float32 NaN (not a Python float) and pandas' NA (a nullable boolean column) are missing too (both read False)
    if value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value)):
        return True
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return bool(value == 1)
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return False


def is_expert_labelled(attributes: Mapping[str, Any] | None) -> bool:
    """Whether an asset's attributes mark its labels as an expert's (see the module docstring).

    >>> is_expert_labelled({}), is_expert_labelled({"expert_labelled": "false"})
    (True, False)
    """
    return expert_mark((attributes or {}).get(EXPERT_KEY))
