"""Checking one sensor series (with ``repair``, fixing it): units, time, channels, duplicates, order, NaN runs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError
from assetgrade.ingest.series_options import SeriesOptions, _time_column
from assetgrade.ingest.series_time import MISSING as _MISSING
from assetgrade.ingest.series_time import epoch_ns as _epoch_ns
from assetgrade.ingest.series_time import parse_time as _parse_time
from assetgrade.ingest.series_time import show as _show

__all__ = ["validate_series"]

_CATCH = (ValueError, TypeError, OverflowError, NotImplementedError, KeyError, IndexError)


@contextmanager
def _file_errors(where: str) -> Iterator[None]:
    """Turn what pandas, pyarrow or numpy raise on odd input into an IngestError naming ``where``."""
    try:
        yield
    except IngestError:
        raise
    except _CATCH as exc:
        raise IngestError(f"cannot read the series: {type(exc).__name__}: {exc}", where=where) from exc


def _channel_values(col: pd.Series, ch: str, row: Callable[[int], str]) -> pd.Series:
    """A channel as floats (missing cells NaN); a non-number or infinite cell is an error naming row and channel."""
    if pd.api.types.is_numeric_dtype(col):
        num = col.astype(float)
    else:
        text = col.astype(str).str.strip()
        missing = col.isna() | text.isin(_MISSING)
        num = pd.to_numeric(text.where(~missing), errors="coerce").astype(float)
        bad = np.flatnonzero((num.isna() & ~missing).to_numpy())
        if len(bad):
            i = int(bad[0])
            cell = col.iloc[i]
            hint = " (a decimal comma? write it with a point)" if re.fullmatch(r"[-+]?\d+,\d+", str(cell)) else ""
            raise IngestError(f"{_show(cell)} in channel {ch!r} is not a number{hint}", where=f"{row(i)}:field {ch}")
    inf = np.flatnonzero(np.isinf(num.to_numpy()))
    if len(inf):
        i = int(inf[0])
        raise IngestError(f"{_show(col.iloc[i])} in channel {ch!r} is infinite; leave the cell empty for a missing"
                          " sample", where=f"{row(i)}:field {ch}")
    return num


def validate_series(
    df: pd.DataFrame, opts: SeriesOptions, *, where: str, first_line: int = 2, file_units: dict[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Check (and with ``opts.repair`` fix) one series; returns (frame indexed by time, info, repair notes)."""
    with _file_errors(where):
        return _validate(df, opts, where=where, first_line=first_line, file_units=file_units or {})


def _validate(
    df: pd.DataFrame, opts: SeriesOptions, *, where: str, first_line: int, file_units: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    cols = [str(c) for c in df.columns]
    df = df.set_axis(cols, axis=1)
    if df.empty:
        raise IngestError("the series has no rows", where=where)
    time_col = _time_column(cols, opts)
    if time_col not in cols:
        raise IngestError(f"time column {time_col!r} not found; columns: {', '.join(cols)}", where=where)
    channels = [c for c in cols if c != time_col and c != opts.asset_col]
    if not channels:
        hint = next((f"; the header looks {name}-delimited" for d, name in ((";", "semicolon"), ("\t", "tab"))
                     if d in time_col), "")
        raise IngestError(f"the series has no channel columns besides the time column{hint}", where=where)

    lines = np.asarray(df.index, dtype=np.int64) + first_line  # file line of each position (groups keep the index)

    def line(i: int) -> int:
        return int(lines[int(i)])

    def row(i: int) -> str:
        return f"{where}:row {line(i)}"

    # units
    for ch, unit in opts.units.items():
        if ch not in channels:
            raise IngestError(f"--units names channel {ch!r}, which the file does not have; channels:"
                              f" {', '.join(channels)}", where=where)
        if ch in file_units and file_units[ch] != unit:
            raise IngestError(f"unit mismatch for channel {ch!r}: the file says {file_units[ch]!r},"
                              f" the option says {unit!r}", where=f"{where}:field {ch}")
    units = {**file_units, **opts.units}
    # time
    raw_t = df[time_col]
    tv, numeric_time, date_order = _parse_time(raw_t, row, line)
    guess = numeric_time and opts.numeric_time == "auto" and not pd.api.types.is_timedelta64_dtype(raw_t)
    epoch = _epoch_ns(tv) if guess else None
    if epoch is not None:  # Unix time in s, ms, us or ns: stored as UTC datetimes, so every file reads alike
        tv, numeric_time = epoch[0], False
    values = pd.DataFrame({ch: _channel_values(df[ch], ch, row) for ch in channels}, index=df.index)
    notes: list[str] = []
    order = np.arange(len(df))
    dup = pd.Series(tv).duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        firsts = np.flatnonzero(tv == tv[i])
        if not opts.repair:
            raise IngestError(f"duplicated timestamp {raw_t.iloc[i]!r} (also at row {line(firsts[0])});"
                              " pass --repair to keep the first sample", where=row(i))
        notes.append(f"dropped {int(dup.sum())} samples with duplicated timestamps (first kept)")
        keep = ~dup
        order, tv, values = order[keep], tv[keep], values[keep]
    back = np.flatnonzero(np.diff(tv) < 0)
    if len(back):
        i = int(order[back[0] + 1])
        if not opts.repair:
            raise IngestError(f"timestamp {raw_t.iloc[i]!r} goes backwards (earlier than the row before);"
                              " pass --repair to sort", where=row(i))
        notes.append(f"sorted {len(back)} out-of-order timestamps")
        srt = np.argsort(tv, kind="stable")
        order, tv, values = order[srt], tv[srt], values.iloc[srt]
    values = values.reset_index(drop=True)
    for ch in channels:
        isnan = values[ch].isna().to_numpy()
        if not isnan.any():
            continue
        if isnan.all():
            raise IngestError(f"channel {ch!r} has no values", where=f"{where}:field {ch}")
        runs = _runs(isnan)
        longest = max(runs, key=lambda r: r[1] - r[0])
        a, b = int(order[longest[0]]), int(order[longest[1] - 1])
        desc = f"{longest[1] - longest[0]} NaN sample(s) in channel {ch!r} at rows {line(a)}-{line(b)}"
        if not opts.repair:
            raise IngestError(f"{desc} ({len(runs)} NaN run(s) in all); pass --repair to interpolate",
                              where=f"{row(a)}:field {ch}")
        if opts.max_gap is not None and longest[1] - longest[0] > opts.max_gap:
            raise IngestError(f"{desc}: longer than --max-gap {opts.max_gap}", where=f"{row(a)}:field {ch}")
        notes.append(f"interpolated {int(isnan.sum())} NaN sample(s) in {len(runs)} run(s) of channel {ch!r}")
    if notes:
        x = tv.astype(float)
        for ch in channels:
            v = values[ch].to_numpy()
            m = np.isnan(v)
            if m.any():
                v = v.copy()
                v[m] = np.interp(x[m], x[~m], v[~m])
                values[ch] = v
    index = pd.Index(tv, name=time_col) if numeric_time else pd.DatetimeIndex(pd.to_datetime(tv, utc=True),
                                                                               name=time_col)
    out = values.set_axis(index)
    step = float(np.median(np.diff(tv.astype(float)))) if len(tv) > 1 else 0.0
    if not numeric_time:
        step /= 1e9
    info: dict[str, Any] = {
        "channels": channels, "units": {ch: units[ch] for ch in channels if ch in units},
        "n_samples": len(out), "sampling_rate_hz": (1.0 / step) if step > 0 else None,
        "time_column": time_col, "time_kind": "numeric" if numeric_time else "datetime",
    }
    if date_order:
        info["date_order"] = date_order
    if epoch is not None:
        info["epoch_unit"] = epoch[1]
    return out, info, notes


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))
