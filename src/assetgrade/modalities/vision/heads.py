"""Heads on backbone features: a multi-class defect-type probe, a multi-label probe, and an ordinal grade head.

The heads live in :mod:`assetgrade.modalities.vision.head_models`, the choice of head and L2
strength in :mod:`assetgrade.modalities.vision.head_selection`, and :func:`serial_blas` (the
one-thread BLAS context every head fits and predicts in) in :mod:`assetgrade.modalities.vision.blas`;
their names are importable from here as before.
"""

from __future__ import annotations

from assetgrade.blas import serial_blas
from assetgrade.modalities.vision.head_models import LinearProbe, MultiLabelProbe, OrdinalLogistic, Standardiser
from assetgrade.modalities.vision.head_selection import (
    C_GRID,
    HeadChoice,
    select_head,
    select_ordinal_penalty,
    select_penalty,
)

__all__ = [
    "C_GRID", "HeadChoice", "LinearProbe", "MultiLabelProbe", "OrdinalLogistic", "Standardiser", "select_head",
    "select_ordinal_penalty", "select_penalty", "serial_blas",
]
