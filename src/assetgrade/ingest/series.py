"""Sensor series import (CSV or Parquet): validation, optional repair, stored as Parquet blobs.

Checks each series for unparsable, missing, infinite or duplicated timestamps, timestamps that go
backwards, NaN runs, non-numeric and infinite cells, and checks units (a units row under the
header and/or ``--units``) for mismatches. Without ``repair`` each problem is an error naming the
row and channel; with ``repair`` the series is sorted, de-duplicated (first sample kept) and NaN
runs are linearly interpolated in time (runs longer than ``max_gap`` samples still fail), and each
repair is recorded as a note in the evidence's provenance. A file that cannot be read at all
(missing, not CSV/Parquet, rows with more cells than the header) is one error naming the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import read_text
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.ingest.series_time import MISSING as _MISSING
from assetgrade.ingest.series_time import epoch_ns as _epoch_ns
from assetgrade.ingest.series_time import parse_time as _parse_time
from assetgrade.ingest.series_time import show as _show
from assetgrade.store.repository import ProvenanceInfo

__all__ = [
    "NUMERIC_TIME",
    "SERIES_MEDIA_TYPE",
    "SeriesOptions",
    "epoch_notice",
    "series_items",
    "series_to_parquet",
    "to_parquet_bytes",
    "validate_series",
]

SERIES_MEDIA_TYPE = "application/vnd.apache.parquet"
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "t", "cycle")
_UNIT_MARKERS = ("unit", "units", "[unit]", "[units]", "#units")
_NOT_UNITS = ("err", "error", "nan", "na", "n/a", "null", "none", "inf", "-inf", "#n/a", "#value!", "?", "-", "--")
_UNIT_TOKENS = frozenset((
    "s", "ms", "us", "µs", "min", "h", "Hz", "kHz", "rpm", "RPM", "V", "mV", "kV", "A", "mA", "W", "kW", "MW", "Wh",
    "kWh", "Ohm", "Ω", "°C", "°F", "degC", "degF", "C", "F", "K", "Pa", "kPa", "MPa", "hPa", "bar", "mbar", "psi",
    "N", "kN", "Nm", "m", "mm", "cm", "um", "µm", "km", "g", "kg", "m/s", "m/s2", "m/s^2", "m/s²", "mm/s", "mm/s2",
    "g_rms", "%", "ppm", "dB", "dBA", "l/min", "L/min", "m3/h", "m³/h", "gpm", "deg", "rad", "rad/s", "lbf", "ft",
))
_DELIMITERS = (",", ";", "\t")
_CATCH = (ValueError, TypeError, OverflowError, NotImplementedError, KeyError, IndexError)


NUMERIC_TIME = ("auto", "number")
"""The ways of reading a numeric time column (:attr:`SeriesOptions.numeric_time`)."""


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
    max_bytes: int = 512 * 1024 * 1024
    """Largest series file read (a CSV takes about 8 times its size in memory while it is parsed)."""
    numeric_time: str = "auto"
    """How a numeric time column is read: ``"auto"`` takes one whose every value lies between 2000 and
    2100 counted in s, ms, us or ns since 1970 as Unix time (stored as UTC datetimes, with a notice);
    ``"number"`` keeps it as plain numbers (cycles, or time since power-on that happens to fall in
    that range)."""

    def __post_init__(self) -> None:
        if self.numeric_time not in NUMERIC_TIME:
            raise IngestError(f"numeric time must be one of {', '.join(NUMERIC_TIME)}, not {self.numeric_time!r}",
                              where="--numeric-time")


@contextmanager
def _file_errors(where: str) -> Iterator[None]:
    """Turn what pandas, pyarrow or numpy raise on odd input into an IngestError naming ``where``."""
    try:
        yield
    except IngestError:
        raise
    except _CATCH as exc:
        raise IngestError(f"cannot read the series: {type(exc).__name__}: {exc}", where=where) from exc


def _time_column(cols: list[str], opts: SeriesOptions) -> str:
    """``opts.time_col``, else the first column named like time, else the first column that is not the asset's."""
    if opts.time_col:
        return opts.time_col
    rest = [c for c in cols if c != opts.asset_col] or cols
    return next((c for c in rest if c.lower() in _TIME_NAMES), rest[0])


def _read(path: Path, opts: SeriesOptions) -> tuple[pd.DataFrame, dict[str, str], int]:
    """The raw frame, the units row (if any) and the file line of the first data row."""
    where = str(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise IngestError("file not found", where=where) from None
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror or exc}", where=where) from exc
    if not path.is_file():
        raise IngestError("not a regular file", where=where)
    if size == 0:
        raise IngestError("file is empty", where=where)
    if size > opts.max_bytes:
        raise IngestError(f"file is {_bytes_text(size)}, over the {_bytes_text(opts.max_bytes)} a series file may have"
                          " (it is read whole); split it by asset or by period, or raise SeriesOptions.max_bytes",
                          where=where)
    if suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise IngestError(f"not a readable Parquet file: {exc}", where=where) from exc
        return _index_as_column(df, opts), {}, 1
    if suffix not in (".csv", ".tsv", ".txt"):
        raise IngestError(f"unknown series file type {suffix!r}; use .csv or .parquet", where=where)
    text, bad = read_text(path, opts.encoding)
    if bad:
        line, reason = next(iter(bad.items()))
        raise IngestError(reason, where=f"{path}:row {line}")
    sep = _delimiter(text.lstrip("\ufeff").split("\n", 1)[0], "\t" if suffix == ".tsv" else ",")
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, path) from None
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise IngestError(f"not a readable CSV file: {exc}", where=where) from exc
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the extra leading cells of every row as an index
        raise IngestError(f"{df.index.nlevels + len(df.columns)} cells but the header has {len(df.columns)}"
                          " columns", where=f"{path}:row 2")
    if df.empty:
        raise IngestError("file has a header but no data rows", where=where)
    df = _header_names(df, text, sep, path)
    cols = [str(c) for c in df.columns]
    cells = {c: str(v).strip() for c, v in zip(cols, df.iloc[0].tolist(), strict=True)}
    time_col = _time_column(cols, opts)
    channels = [c for c in cols if c not in (time_col, opts.asset_col)]
    if not _is_units_row(cells, cols[0], time_col, channels):
        return df, {}, 2
    if len(df) == 1:
        raise IngestError("file has a header and a units row but no data rows", where=where)
    units = {c: cells[c] for c in channels if cells[c]}
    return df.iloc[1:].reset_index(drop=True), units, 3


def _header_names(df: pd.DataFrame, text: str, sep: str, path: Path) -> pd.DataFrame:
    """The frame with the header's own names, stripped of spaces (pandas renames a repeated name
    ``v.1`` and a blank one ``Unnamed: 2``): a name given twice, or a blank name over a column with
    values, is an error naming the header row; a blank-named column without any value (a trailing
    separator on every line) is dropped."""
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep, skipinitialspace=True), [])
    names = [h.strip() for h in header]
    if len(names) != len(df.columns):  # a header pandas read differently (quoted line breaks): leave it
        return df
    seen: dict[str, int] = {}
    keep: list[int] = []
    for k, name in enumerate(names):
        if not name:
            if df.iloc[:, k].astype(str).str.strip().ne("").any():
                raise IngestError(f"column {k + 1} has no name but holds values; name it in the header",
                                  where=f"{path}:row 1")
            continue
        if name in seen:
            raise IngestError(f"column {name!r} is named twice (columns {seen[name] + 1} and {k + 1}); which one"
                              " holds the channel would be a guess", where=f"{path}:row 1:field {name}")
        seen[name] = k
        keep.append(k)
    out = df.iloc[:, keep]
    return out.set_axis([names[k] for k in keep], axis=1)


def _bytes_text(n: int) -> str:
    """A size for a message: bytes below 1 MiB, else MiB."""
    return f"{n:,} bytes" if n < 2**20 else f"{n / 2**20:,.0f} MiB"


def _index_as_column(df: pd.DataFrame, opts: SeriesOptions) -> pd.DataFrame:
    """A Parquet frame's index as its first column: pandas writes a frame's time index (often unnamed) there."""
    idx = df.index
    if isinstance(idx, pd.RangeIndex) and idx.name is None:
        return df
    if isinstance(idx, pd.MultiIndex):
        return df.reset_index()
    if idx.name is not None:
        return df.reset_index(drop=idx.name in df.columns)
    cols = [str(c) for c in df.columns]
    if (opts.time_col in cols) if opts.time_col else any(c.lower() in _TIME_NAMES for c in cols):
        return df.reset_index(drop=True)  # a row number: the time is a column
    return df.reset_index(names=opts.time_col or ("time" if "time" not in cols else "index"))


def _delimiter(header: str, default: str) -> str:
    """The most frequent of comma, semicolon and tab in the header line (outside quotes); ``default`` on a tie."""
    bare = re.sub(r'"[^"]*"', "", header)
    best = max(_DELIMITERS, key=bare.count)
    return best if bare.count(best) > bare.count(default) else default


def _parser_error(exc: pd.errors.ParserError, path: Path) -> IngestError:
    msg = str(exc).strip()
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return IngestError(f"{m[3]} cells but the header has {m[1]} columns", where=f"{path}:row {m[2]}")
    return IngestError(f"not a readable CSV file: {msg.splitlines()[-1] if msg else type(exc).__name__}",
                       where=str(path))


def _is_units_row(cells: dict[str, str], first_col: str, time_col: str, channels: list[str]) -> bool:
    """Whether the first row under the header gives units rather than data.

    It does when its first (or time) cell is a marker such as ``units``, or when every channel cell
    is empty or not a number (and none reads like an error value such as ``ERR`` or ``NaN``) and
    either each of them looks like a unit (``[bar]``, ``degC``) or the time cell is empty or no
    number or date (``s``, ``UTC``). A row such as ``0,ERR,ERR`` is data.
    """
    t = cells.get(time_col, "")
    if cells[first_col].lower() in _UNIT_MARKERS or t.lower() in _UNIT_MARKERS:
        return True
    vals = [cells[c] for c in channels if cells[c]]
    if not vals or not all(_not_number(v) for v in vals) or any(v.lower() in _NOT_UNITS for v in vals):
        return False
    if all(v in _UNIT_TOKENS or re.fullmatch(r"\[.+\]|\(.+\)", v) for v in vals):
        return True
    return not t or (_not_number(t) and pd.isna(pd.to_datetime(t, errors="coerce")))


def _not_number(s: str) -> bool:
    try:
        float(s)
        return False
    except ValueError:
        return True


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


def _rows_text(lines: np.ndarray, shown: int = 5) -> str:
    """File rows for a message: the first ``shown`` and how many more."""
    head = ", ".join(str(int(v)) for v in lines[:shown])
    return head if len(lines) <= shown else f"{head} and {len(lines) - shown} more"


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
    """Read, validate (or repair) one single-asset series file; returns Parquet bytes and its info.

    Errors name ``where`` (e.g. a manifest row) when given, and the series file's own row and
    channel in their reason.
    """
    try:
        with _file_errors(str(path)):
            df, file_units, first = _read(path, opts)
            frame, info, notes = validate_series(df, opts, where=str(path), first_line=first, file_units=file_units)
            data = to_parquet_bytes(frame)
    except IngestError as exc:
        if where is None or where == str(path):
            raise
        inner = (exc.where or str(path)).replace(str(path), path.name, 1)
        raise IngestError(f"{inner}: {exc.reason}", where=where) from exc
    info["repairs"] = notes
    said = epoch_notice(frame, info)
    if said:
        info["notice"] = said
    return data, info


def epoch_notice(frame: pd.DataFrame, info: dict[str, Any]) -> str | None:
    """What to tell the user when a numeric time column was read as Unix time (else None)."""
    if "epoch_unit" not in info:
        return None
    first_t, last_t = (t.strftime("%Y-%m-%d %H:%M") for t in frame.index[[0, -1]])
    return (f"numeric time column {info['time_column']!r} read as Unix time in {info['epoch_unit']} ({first_t} to"
            f" {last_t} UTC); if it counts from another start (e.g. power-on), ingest it with --numeric-time number"
            " (manifest column numeric_time) or give the file an ISO time column")


def series_items(
    paths: Sequence[Path], opts: SeriesOptions, *, asset_id: str | None = None, asset_type: str | None = None,
    origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError | IngestNotice]:
    """One item per file (asset = ``asset_id`` or the file stem), or per asset with ``opts.asset_col``.

    A file that cannot be read is one ``RowError`` naming it; the other files still go in. A numeric
    time column read as Unix time is said in an ``IngestNotice`` (the reading is a guess from its range).
    """
    for path in paths:
        try:
            with _file_errors(str(path)):
                df, file_units, first = _read(path, opts)
                if opts.asset_col is not None and opts.asset_col not in df.columns:
                    raise IngestError(f"asset column {opts.asset_col!r} not found", where=str(path))
                unowned: IngestError | None = None
                if opts.asset_col:
                    ids = df[opts.asset_col].astype(str).str.strip()
                    blank = (df[opts.asset_col].isna() | ids.isin(_MISSING)).to_numpy()
                    if blank.any():  # groupby would drop these rows without a word
                        at = np.flatnonzero(blank) + first
                        unowned = IngestError(f"{int(blank.sum())} row(s) have no asset id in column"
                                              f" {opts.asset_col!r} (rows {_rows_text(at)}); they are left out",
                                              where=f"{path}:row {int(at[0])}:field {opts.asset_col}")
                    groups = [(str(a), g) for a, g in df[~blank].groupby(ids[~blank], sort=True)]
                else:
                    groups = [(asset_id or path.stem, df)]
        except IngestError as exc:
            yield RowError.from_exception(exc, str(path), None)
            continue
        if unowned is not None:
            yield RowError.from_exception(unowned, str(path), None)
        for aid, g in groups:
            where = f"{path}:asset {aid}" if opts.asset_col else str(path)
            try:
                with _file_errors(str(path)):
                    frame, info, notes = validate_series(g.drop(columns=[opts.asset_col]) if opts.asset_col else g,
                                                         opts, where=str(path), first_line=first,
                                                         file_units=file_units)
                    data = to_parquet_bytes(frame)
            except IngestError as exc:
                yield RowError.from_exception(exc, str(path), None)
                continue
            said = epoch_notice(frame, info)
            if said:
                yield IngestNotice(str(path), None, f"{where}: {said}")
            yield ItemSpec(where=where, asset_id=aid, kind="series", source_key=f"{path.name}#{aid}", data=data,
                           media_type=SERIES_MEDIA_TYPE, asset_type=asset_type, attributes=info,
                           provenance=ProvenanceInfo(source=source or path.name, origin=origin,
                                                     notes=notes or None),
                           file=str(path))
