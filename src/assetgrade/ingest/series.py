"""Sensor series import (CSV or Parquet): validation, optional repair, stored as Parquet blobs.

Checks each series for unparsable or duplicated timestamps, timestamps that go backwards,
NaN runs and non-numeric cells, and checks units (a units row under the header and/or
``--units``) for mismatches. Without ``repair`` each problem is an error naming the row and
channel; with ``repair`` the series is sorted, de-duplicated (first sample kept) and NaN runs
are linearly interpolated in time (runs longer than ``max_gap`` samples still fail), and each
repair is recorded as a note in the evidence's provenance.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import read_text
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = [
    "SERIES_MEDIA_TYPE",
    "SeriesOptions",
    "series_items",
    "series_to_parquet",
    "to_parquet_bytes",
    "validate_series",
]

SERIES_MEDIA_TYPE = "application/vnd.apache.parquet"
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "t", "cycle")
_UNIT_MARKERS = ("unit", "units", "[unit]", "[units]", "#units")


@dataclass(frozen=True)
class SeriesOptions:
    """How to read and check series files.

    Examples
    --------
    >>> SeriesOptions(units={"temp": "degC"}, repair=True).repair
    True
    """

    time_col: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    repair: bool = False
    max_gap: int | None = None
    asset_col: str | None = None
    encoding: str | None = None


def _read(path: Path, opts: SeriesOptions) -> tuple[pd.DataFrame, dict[str, str], int]:
    """The raw frame, the units row (if any) and the file line of the first data row."""
    where = str(path)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise IngestError("file is empty", where=where)
    if suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise IngestError(f"not a readable Parquet file: {exc}", where=where) from exc
        if df.index.name is not None and df.index.name not in df.columns:
            df = df.reset_index()
        return df, {}, 1
    if suffix not in (".csv", ".tsv", ".txt"):
        raise IngestError(f"unknown series file type {suffix!r}; use .csv or .parquet", where=where)
    text, bad = read_text(path, opts.encoding)
    if bad:
        line, reason = next(iter(bad.items()))
        raise IngestError(reason, where=f"{path}:row {line}")
    sep = "\t" if suffix == ".tsv" else ","
    df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    if df.empty:
        raise IngestError("file has a header but no data rows", where=where)
    first = 2
    units: dict[str, str] = {}
    head = [str(v).strip() for v in df.iloc[0].tolist()]
    if any(h.lower() in _UNIT_MARKERS for h in head[:1]) or (
        df.shape[0] > 1 and all(_not_number(h) for h in head[1:]) and any(h for h in head[1:])
        and not all(_not_number(str(v)) for v in df.iloc[1].tolist()[1:])
    ):
        units = {c: u for c, u in zip(df.columns[1:], head[1:], strict=True) if u}
        df = df.iloc[1:].reset_index(drop=True)
        first = 3
    return df, units, first


def _not_number(s: str) -> bool:
    try:
        float(s)
        return False
    except ValueError:
        return True


def validate_series(
    df: pd.DataFrame, opts: SeriesOptions, *, where: str, first_line: int = 2, file_units: dict[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Check (and with ``opts.repair`` fix) one series; returns (frame indexed by time, info, repair notes)."""
    cols = [str(c) for c in df.columns]
    time_col = opts.time_col or next((c for c in cols if c.lower() in _TIME_NAMES), cols[0])
    if time_col not in cols:
        raise IngestError(f"time column {time_col!r} not found; columns: {', '.join(cols)}", where=where)
    channels = [c for c in cols if c != time_col and c != opts.asset_col]
    if not channels:
        raise IngestError("the series has no channel columns besides the time column", where=where)

    lines = np.asarray(df.index, dtype=np.int64) + first_line  # file line of each position (groups keep the index)

    def line(i: int) -> int:
        return int(lines[int(i)])

    def row(i: int) -> str:
        return f"{where}:row {line(i)}"

    # units
    file_units = file_units or {}
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
    t_num = pd.to_numeric(raw_t, errors="coerce")
    numeric_time = bool(t_num.notna().all())
    if numeric_time:
        tv = t_num.astype(float).to_numpy()
    else:
        t = pd.to_datetime(raw_t, errors="coerce", utc=True, format="mixed")
        bad_t = np.flatnonzero(t.isna().to_numpy())
        if len(bad_t):
            raise IngestError(f"timestamp {raw_t.iloc[bad_t[0]]!r} cannot be parsed", where=row(bad_t[0]))
        tv = t.dt.tz_convert(None).to_numpy().astype("datetime64[ns]").astype(np.int64)  # ns since epoch, UTC
    values = pd.DataFrame(index=df.index)
    for ch in channels:
        col = df[ch]
        num = pd.to_numeric(col.replace({"": np.nan, "nan": np.nan, "NaN": np.nan, "NA": np.nan}), errors="coerce")
        bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy()
                             & ~col.astype(str).str.strip().isin(["", "nan", "NaN", "NA", "None"]).to_numpy())
        if len(bad):
            raise IngestError(f"{col.iloc[bad[0]]!r} in channel {ch!r} is not a number", where=row(bad[0]))
        values[ch] = num.astype(float)
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
    return out, info, notes


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (deterministic for the same frame and library versions)."""
    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow", index=True)
    return buf.getvalue()


def series_to_parquet(path: Path, opts: SeriesOptions, *, where: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """Read, validate (or repair) one single-asset series file; returns Parquet bytes and its info."""
    df, file_units, first = _read(path, opts)
    frame, info, notes = validate_series(df, opts, where=where or str(path), first_line=first, file_units=file_units)
    info["repairs"] = notes
    return to_parquet_bytes(frame), info


def series_items(
    paths: Sequence[Path], opts: SeriesOptions, *, asset_id: str | None = None, asset_type: str | None = None,
    origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError]:
    """One item per file (asset = ``asset_id`` or the file stem), or per asset with ``opts.asset_col``."""
    for path in paths:
        try:
            df, file_units, first = _read(path, opts)
            if opts.asset_col is not None and opts.asset_col not in df.columns:
                raise IngestError(f"asset column {opts.asset_col!r} not found", where=str(path))
        except IngestError as exc:
            yield RowError.from_exception(exc, str(path), None)
            continue
        groups = ([(str(a), g) for a, g in df.groupby(opts.asset_col, sort=True)] if opts.asset_col
                  else [(asset_id or path.stem, df)])
        for aid, g in groups:
            where = f"{path}:asset {aid}" if opts.asset_col else str(path)
            try:
                frame, info, notes = validate_series(g.drop(columns=[opts.asset_col]) if opts.asset_col else g,
                                                     opts, where=str(path), first_line=first, file_units=file_units)
            except IngestError as exc:
                yield RowError.from_exception(exc, str(path), None)
                continue
            data = to_parquet_bytes(frame)
            yield ItemSpec(where=where, asset_id=aid, kind="series", source_key=f"{path.name}#{aid}", data=data,
                           media_type=SERIES_MEDIA_TYPE, asset_type=asset_type, attributes=info,
                           provenance=ProvenanceInfo(source=source or path.name, origin=origin,
                                                     notes=notes or None),
                           file=str(path))
