"""Checked inputs of the calibrators, metrics and conformal predictors: probability matrices and grade labels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = ["as_labels", "as_proba"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def as_proba(p: npt.ArrayLike, *, where: str = "proba") -> FloatArray:
    """A checked (n, k) probability matrix: finite, in [0, 1], rows summing to 1 (within 1e-4)."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValidationError(f"expected an (n, k>=2) matrix, got shape {arr.shape}", where=where)
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise ValidationError(f"row {bad} holds NaN or inf", where=where)
    if arr.size and (arr.min() < -1e-9 or arr.max() > 1 + 1e-9):
        raise ValidationError("probabilities must lie in [0, 1]", where=where)
    sums = arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        bad = int(np.argmax(np.abs(sums - 1.0)))
        raise ValidationError(f"row {bad} sums to {sums[bad]:.4f}, not 1", where=where)
    return np.clip(arr, 0.0, 1.0)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (so a message shows 'A', not np.str_('A'))."""
    return value.item() if isinstance(value, np.generic) else value


def as_labels(y: npt.ArrayLike, n_classes: int, *, where: str = "y", rows: int | None = None) -> IntArray:
    """Checked integer labels in ``0 .. n_classes-1`` (exactly ``rows`` of them, when given)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValidationError(f"labels must be 1-D, got shape {arr.shape}", where=where)
    if rows is not None and len(arr) != rows:
        # a metric indexed the first len(y) rows, or broadcast a single label over every row
        raise ValidationError(f"{len(arr)} labels for {rows} rows of probabilities", where=where)
    if arr.size and arr.dtype.kind not in "biuf":  # grade names or None: numpy's own TypeError before
        bad = next((i for i, v in enumerate(arr.tolist()) if isinstance(v, bool) or not isinstance(v, int | float)), 0)
        raise ValidationError(f"labels must be integer grade indices 0..{n_classes - 1}; row {bad} holds "
                              f"{_plain(arr[bad])!r} (map grade names to their index on the scale)", where=where)
    if arr.size and (not np.issubdtype(arr.dtype, np.integer)) and not np.all(np.equal(np.mod(arr, 1), 0)):
        bad = int(np.flatnonzero(~np.equal(np.mod(arr, 1), 0))[0])
        raise ValidationError(f"labels must be integer grade indices; row {bad} holds {_plain(arr[bad])!r}",
                              where=where)
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= n_classes):
        bad = int(np.argmax((out < 0) | (out >= n_classes)))
        raise ValidationError(f"label {out[bad]} at row {bad} is outside 0..{n_classes - 1}", where=where)
    return out
