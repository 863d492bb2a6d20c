"""Timestamps of sensor series: numeric time, datetime columns, and text dates with one day/month order per column.

ISO 8601 is read first (fast). Other text dates such as ``03/04/2024`` get one order for the
whole column: day-first when a first field is above 12, month-first when a second field is, a
column with both is refused naming the two rows, and a column where every date could be either
is read month-first (``.``-separated: day-first). Missing, infinite and unparsable timestamps
are errors naming the row.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError

__all__ = ["MISSING", "NUMERIC_DATE", "epoch_ns", "finite_time", "guess_format", "parse_dates", "parse_time", "show"]

MISSING = ("", "nan", "NaN", "NA", "None")
"""Cells read as a missing sample."""
NUMERIC_DATE = re.compile(r"^\s*(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?:\d{4}|\d{2})\b")
"""``a/b/yyyy`` (or with ``.`` or ``-``): the two fields whose order is in question."""


def show(value: object) -> str:
    """A cell for a message: text quoted, other values (Parquet numbers, NaT) as they print."""
    return repr(value) if isinstance(value, str) else str(value)


def guess_format(sample: str, dayfirst: bool) -> str | None:
    """pandas' guess of a strptime format for one cell (None when it cannot tell or pandas is older than 2.2)."""
    try:
        from pandas.tseries.api import guess_datetime_format  # pandas >= 2.2
    except ImportError:  # pragma: no cover - older pandas parses each cell instead
        return None
    with warnings.catch_warnings():  # an ISO sample guessed day-first: pandas' remark, not the user's concern
        warnings.simplefilter("ignore", UserWarning)
        fmt: str | None = guess_datetime_format(sample, dayfirst=dayfirst)
    return fmt


def parse_time(
    raw: pd.Series, row: Callable[[int], str], line: Callable[[int], int]
) -> tuple[np.ndarray, bool, str | None]:
    """Timestamps as float (numeric time) or int64 ns since the epoch in UTC, whether numeric, the day/month order.

    Datetime columns (Parquet) stay datetimes; a text column is numeric when every cell is a
    number or missing; otherwise ISO 8601 is tried first (fast), then one day/month order and one
    format are chosen for the whole column. Missing, infinite and unparsable timestamps are
    refused naming the row.
    """
    order: str | None = None
    if pd.api.types.is_datetime64_any_dtype(raw):
        t = pd.to_datetime(raw, utc=True)  # naive datetimes are taken as UTC, like naive text
    elif pd.api.types.is_timedelta64_dtype(raw):
        return finite_time(raw.dt.total_seconds().to_numpy(dtype=float), raw, row), True, None
    elif pd.api.types.is_numeric_dtype(raw):
        return finite_time(raw.to_numpy(dtype=float), raw, row), True, None
    else:
        text = raw.astype(str).str.strip()
        missing = (raw.isna() | text.isin(MISSING)).to_numpy()
        num = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float)
        if not missing.all() and bool((~np.isnan(num) | missing).all()):
            return finite_time(num, raw, row), True, None
        _same_zone_kind(text, missing, raw, row, line)
        t, order = parse_dates(text.where(~missing), row, line)
    bad_t = np.flatnonzero(t.isna().to_numpy())
    if len(bad_t):
        i = int(bad_t[0])
        value = raw.iloc[i]
        reason = "is missing" if pd.isna(value) or str(value).strip() in MISSING else "cannot be parsed"
        raise IngestError(f"timestamp {show(value)} {reason}", where=row(i))
    tv = t.dt.tz_convert(None).to_numpy().astype("datetime64[ns]").astype(np.int64)  # ns since epoch, UTC
    return tv, False, order


_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
"""A timestamp ending in a UTC offset or zone after its time of day (``10:00Z``, ``10:00:00+02:00``, ``10:00 UTC``)."""


def _same_zone_kind(
    text: pd.Series, missing: np.ndarray, raw: pd.Series, row: Callable[[int], str], line: Callable[[int], int]
) -> None:
    """An IngestError when some timestamps carry a UTC offset and others do not.

    A timestamp without one is read as UTC, which is right for a column of them; beside timestamps
    with offsets it is more likely local time, and reading it as UTC shifts it by hours without a
    word (the audit of 2026-12-02 found such a column stored as if in order). Offsets that differ
    from one another are fine: each names its own instant.
    """
    has = text.str.contains(_OFFSET, na=False).to_numpy() & ~missing
    if not has.any():
        return
    without = np.flatnonzero(~has & ~missing)
    if not len(without):
        return
    i, j = int(without[0]), int(np.flatnonzero(has)[0])
    raise IngestError(f"timestamp {show(raw.iloc[i])} has no UTC offset but {show(raw.iloc[j])} (row {line(j)}) has"
                      " one: which zone it is in would be a guess; give every timestamp an offset (Z or +02:00) or"
                      " none (all read as UTC)", where=f"{row(i)}:field {raw.name}")


_EPOCH_SECONDS = (946_684_800, 4_102_444_800)
"""2000-01-01 and 2100-01-01 in seconds since 1970: the years a numeric time column is read as a Unix time."""
_EPOCH_UNITS = (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1))


def epoch_ns(tv: np.ndarray) -> tuple[np.ndarray, str] | None:
    """Numeric time read as Unix time: int64 ns since 1970 (UTC) and its unit, or None.

    A column every value of which lies between 2000 and 2100 counted in seconds, milliseconds,
    microseconds or nanoseconds since 1970 is such a time (the ranges do not overlap, and a cycle
    count or seconds since commissioning never reaches them); read as plain numbers, a
    millisecond column would give slopes per millisecond and a sampling rate 1000 times too low.

    >>> epoch_ns(np.array([1.7e12, 1.7e12 + 1000]))[1], epoch_ns(np.array([0.0, 1.0]))
    ('ms', None)
    """
    if tv.size == 0:
        return None
    lo, hi = float(tv.min()), float(tv.max())
    for unit, ns in _EPOCH_UNITS:
        scale = 10**9 // ns  # values per second
        if _EPOCH_SECONDS[0] * scale <= lo and hi < _EPOCH_SECONDS[1] * scale:
            whole = bool(np.all(tv == np.round(tv)))
            out = tv.astype(np.int64) * ns if whole else np.round(tv * ns).astype(np.int64)
            return out, unit
    return None


def finite_time(tv: np.ndarray, raw: pd.Series, row: Callable[[int], str]) -> np.ndarray:
    """``tv`` unchanged when every value is finite; else an IngestError naming the first missing or infinite row."""
    bad = np.flatnonzero(~np.isfinite(tv))
    if len(bad):
        i = int(bad[0])
        reason = "is missing" if np.isnan(tv[i]) else "is infinite"
        raise IngestError(f"timestamp {show(raw.iloc[i])} {reason}", where=row(i))
    return tv


def parse_dates(
    text: pd.Series, row: Callable[[int], str], line: Callable[[int], int]
) -> tuple[pd.Series, str | None]:
    """Text timestamps to UTC datetimes, with one format and one day/month order for the whole column."""
    t = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    if bool((t.notna() | text.isna()).all()):
        return t, None
    parts = text.str.extract(NUMERIC_DATE)
    a, b = (pd.to_numeric(parts[k], errors="coerce").to_numpy(dtype=float) for k in ("a", "b"))
    day_a, day_b = np.flatnonzero(a > 12), np.flatnonzero(b > 12)
    order: str | None = None
    dayfirst = False
    if len(day_a) and len(day_b):
        i, j = int(day_a[0]), int(day_b[0])
        raise IngestError(f"dates mix day-first {text.iloc[i]!r} (row {line(i)}) and month-first"
                          f" {text.iloc[j]!r} (row {line(j)}); write ISO 8601 timestamps (2024-04-13T10:00:00)",
                          where=row(max(i, j)))
    if parts["a"].notna().any():
        seps = parts["sep"].dropna()
        dayfirst = bool(len(day_a)) or (not len(day_b) and seps.iloc[0] == ".")
        order = "day-first" if dayfirst else "month-first"
    present = text.dropna()
    fmt = guess_format(str(present.iloc[0]), dayfirst) if len(present) else None
    if fmt is None:
        return pd.to_datetime(text, format="mixed", dayfirst=dayfirst, utc=True, errors="coerce"), order
    t = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    rest = t.isna() & text.notna()
    if rest.any():  # cells in another format than the first: parsed one by one, in the same day/month order
        t = t.fillna(pd.to_datetime(text[rest], format="mixed", dayfirst=dayfirst, utc=True, errors="coerce"))
    return t, order
