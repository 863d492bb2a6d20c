"""``bench vision --C``: a positive number or ``auto``."""

from __future__ import annotations

import pytest

from assetgrade.cli.bench_vision import _penalty
from assetgrade.errors import ValidationError


def test_penalty_option() -> None:
    assert _penalty("auto") is None and _penalty("AUTO ") is None
    assert _penalty("0.5") == 0.5
    for bad in ("-1", "0", "strong"):
        with pytest.raises(ValidationError, match="--C"):
            _penalty(bad)
