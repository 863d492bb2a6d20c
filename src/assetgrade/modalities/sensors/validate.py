"""Defensive checks on a sensor series before any feature is computed on it.

The store validates at ingest; this second, cheaper check runs where features are computed, so a
NaN-laden, too-short or misaligned series raises a :class:`~assetgrade.errors.ValidationError`
naming the evidence id and channel (or comes back repaired with a quality flag), never garbage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from assetgrade.errors import ValidationError

__all__ = ["CheckedSeries", "check_series", "longest_nan_run", "nearly_constant"]

_MAX_ABS = 1e150
"""Largest magnitude of a sample: squares and sums of squares of larger ones overflow a float."""


def nearly_constant(x: np.ndarray, rel_tol: float = 1e-9) -> bool:
    """True when the finite values span no more than float rounding (relative to their magnitude).

    Examples
    --------
    >>> nearly_constant(np.full(5, 21.61) + np.array([0, 1e-14, 0, -1e-14, 0]))
    True
    >>> nearly_constant(np.array([21.60, 21.61, 21.61]))
    False
    """
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return True
    return bool(float(v.max() - v.min()) <= rel_tol * (1.0 + float(np.abs(v).max())))


@dataclass
class CheckedSeries:
    """A validated series: a float frame with a strictly increasing float index, and the flags raised.

    Examples
    --------
    >>> import pandas as pd
    >>> c = check_series(pd.DataFrame({"a": [1.0, None, 3.0, 4.0, 5.0, 6.0]}), evidence_id="e1")
    >>> c.frame["a"].tolist(), c.flags
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], ['e1:a: 1 missing value(s) filled by interpolation'])
    """

    frame: pd.DataFrame
    flags: list[str] = field(default_factory=list)


def longest_nan_run(values: np.ndarray) -> tuple[int, int]:
    """Length and start position of the longest run of NaN in a 1-D array ((0, -1) when none)."""
    isnan = np.isnan(values)
    if not isnan.any():
        return 0, -1
    padded = np.concatenate([[0], isnan.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return int(ends[k] - starts[k]), int(starts[k])


def _time_index(frame: pd.DataFrame, where: str) -> np.ndarray:
    idx = frame.index
    if isinstance(idx, pd.DatetimeIndex):
        return np.asarray((idx - idx[0]).total_seconds(), dtype=float)
    if isinstance(idx, pd.TimedeltaIndex):
        return np.asarray(idx.total_seconds(), dtype=float)
    try:
        return np.asarray(idx, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"time index must be numeric or datetime, got {idx.dtype}", where=where) from exc


def _float_block(frame: pd.DataFrame, cols: list[str]) -> npt.NDArray[np.float64] | None:
    """All ``cols`` as one float array (one pandas lookup instead of one per channel); None when they
    are not all plain numeric columns (or a name repeats), so the channel-by-channel path names the bad one."""
    if not frame.columns.is_unique or len(set(cols)) != len(cols):
        return None
    try:
        sub = frame[cols]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(isinstance(dt, np.dtype) and dt.kind in "biuf" for dt in sub.dtypes):
        return None  # nullable, categorical, object, datetime... columns: converted one by one as before
    return np.asarray(sub.to_numpy(dtype=float))


def check_series(
    frame: object,
    *,
    evidence_id: str = "series",
    channels: Sequence[str] | None = None,
    min_length: int = 5,
    max_nan_run: int = 10,
    max_nan_fraction: float = 0.2,
) -> CheckedSeries:
    """Validate one series and repair short gaps; anything worse raises a clear error.

    Parameters
    ----------
    frame
        What ``SeriesRef.load()`` returned: a DataFrame indexed by time, one column per channel.
    evidence_id
        Named in every message.
    channels
        The channels required (a fitted model's channel list); ``None`` takes every numeric column.
    min_length
        Fewer rows than this raise (features over fewer points are noise).
    max_nan_run, max_nan_fraction
        A channel with a longer run of NaN, or a larger share of NaN, raises (misaligned or dead
        channel); shorter gaps are filled by linear interpolation and flagged.

    Raises
    ------
    ValidationError
        Not a frame, too short, non-monotonic or duplicated time stamps, a required channel missing
        or non-numeric, a channel mostly missing, or a value beyond ±1e150 (features would overflow).
    """
    where = f"series {evidence_id}"
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(frame).__name__}", where=where)
    if channels is None:
        cols = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if not cols:
            raise ValidationError("no numeric channel", where=where)
    else:
        cols = list(channels)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValidationError(f"channel(s) {missing} missing (have {list(map(str, frame.columns))})", where=where)
    if len(frame) < min_length:
        raise ValidationError(f"too short: {len(frame)} rows, need at least {min_length}", where=where)
    t = _time_index(frame, where)
    if not np.all(np.isfinite(t)):
        raise ValidationError("time index has missing values", where=where)
    dt = np.diff(t)
    if (dt == 0).any():
        i = int(np.flatnonzero(dt == 0)[0]) + 1
        raise ValidationError(f"duplicated time stamp at row {i}", where=where)
    if (dt < 0).any():
        i = int(np.flatnonzero(dt < 0)[0]) + 1
        raise ValidationError(f"time stamps not increasing at row {i}", where=where)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    flags: list[str] = []
    constant: list[str] = []
    block = _float_block(frame, cols)
    for j, c in enumerate(cols):
        try:
            v = block[:, j].copy() if block is not None else np.asarray(frame[c], dtype=float).copy()
        except (TypeError, ValueError) as exc:
            raise ValidationError("channel is not numeric", where=f"{where}:channel {c}") from exc
        v[~np.isfinite(v)] = np.nan
        huge = np.flatnonzero(np.abs(v) > _MAX_ABS)
        if huge.size:  # its square (RMS, variance, cost sums) would overflow to inf
            raise ValidationError(f"value {v[huge[0]]:g} at row {int(huge[0])} is beyond ±{_MAX_ABS:g}: a corrupt"
                                  " sample or a wrong unit", where=f"{where}:channel {c}")
        n_nan = int(np.isnan(v).sum())
        if n_nan:
            run, start = longest_nan_run(v)
            if n_nan / len(v) > max_nan_fraction:
                raise ValidationError(
                    f"{n_nan} of {len(v)} values missing (more than {max_nan_fraction:.0%}): "
                    "dead or misaligned channel",
                    where=f"{where}:channel {c}",
                )
            if run > max_nan_run:
                raise ValidationError(
                    f"{run} missing values in a row from row {start} (at most {max_nan_run} are repaired)",
                    where=f"{where}:channel {c}",
                )
            v = pd.Series(v).interpolate(limit_direction="both").to_numpy()
            flags.append(f"{evidence_id}:{c}: {n_nan} missing value(s) filled by interpolation")
        if nearly_constant(v):
            constant.append(str(c))
        columns[str(c)] = v
    if len(constant) == 1:
        flags.append(f"{evidence_id}:{constant[0]}: constant channel")
    elif constant:  # one flag, not one per channel: C-MAPSS has eight such channels in every series
        flags.append(f"{evidence_id}: {len(constant)} constant channels: {', '.join(constant)}")
    # one frame from all channels at once: inserting columns one by one costs more than the checks
    out = pd.DataFrame(columns, index=pd.Index(t, name="t"))
    return CheckedSeries(out, flags)
