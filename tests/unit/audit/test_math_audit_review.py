"""Review statistics audit: readings of the expert mark that must agree however a table stores a missing value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.audit.expert import expert_mark


@pytest.mark.parametrize("missing", [None, float("nan"), np.float64("nan"), np.float32("nan"), pd.NA])
def test_a_missing_expert_mark_reads_as_not_marked_whatever_the_column_type(missing: object) -> None:
    # a nullable boolean column holds pd.NA and a float32 column NaN; both were read as "not expert" while None
    # and a float64 NaN in the same place were read as not marked (so expert, the documented default)
    assert expert_mark(missing) is True


def test_a_nullable_boolean_column_reads_like_an_object_column() -> None:
    objects = pd.Series([True, False, None], dtype=object)
    nullable = pd.Series([True, False, None], dtype="boolean")
    assert [expert_mark(v) for v in nullable] == [expert_mark(v) for v in objects] == [True, False, True]
