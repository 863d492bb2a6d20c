"""Reading one sensor series file (CSV or Parquet) into a raw frame: delimiter, header names, the units row, and a
CSV's channels parsed as numbers (not held as text)."""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import read_text
from assetgrade.ingest.series_options import _TIME_NAMES, SeriesOptions, _time_column
from assetgrade.ingest.series_time import MISSING

__all__: list[str] = []  # used through assetgrade.ingest.series

_UNIT_MARKERS = ("unit", "units", "[unit]", "[units]", "#units")
_NOT_UNITS = ("err", "error", "nan", "na", "n/a", "null", "none", "inf", "-inf", "#n/a", "#value!", "?", "-", "--")
_UNIT_TOKENS = frozenset((
    "s", "ms", "us", "µs", "min", "h", "Hz", "kHz", "rpm", "RPM", "V", "mV", "kV", "A", "mA", "W", "kW", "MW", "Wh",
    "kWh", "Ohm", "Ω", "°C", "°F", "degC", "degF", "C", "F", "K", "Pa", "kPa", "MPa", "hPa", "bar", "mbar", "psi",
    "N", "kN", "Nm", "m", "mm", "cm", "um", "µm", "km", "g", "kg", "m/s", "m/s2", "m/s^2", "m/s²", "mm/s", "mm/s2",
    "g_rms", "%", "ppm", "dB", "dBA", "l/min", "L/min", "m3/h", "m³/h", "gpm", "deg", "rad", "rad/s", "lbf", "ft",
))
_DELIMITERS = (",", ";", "\t")


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
    data = text.lstrip("\ufeff").encode("utf-8")  # parsed as UTF-8 bytes: a StringIO took 4 bytes a character
    del text  # so the file is held once
    end = data.find(b"\n")
    sep = _delimiter(data[:end if end >= 0 else None].decode("utf-8"), "\t" if suffix == ".tsv" else ",")
    df, units = _csv_frame(data, sep, path, opts)
    first = 2 if units is None else 3
    lines, widths = _record_lines(data, sep, len(df) + (units is not None))
    if units is not None:  # the units row is not a data row
        lines, widths = lines[1:], None if widths is None else widths[1:]
    _refuse_short_rows(widths, lines, data, sep, path)
    return df.set_axis(lines - first, axis=0), units or {}, first


def _csv_frame(data: bytes, sep: str, path: Path, opts: SeriesOptions) -> tuple[pd.DataFrame, dict[str, str] | None]:
    """The data rows of a CSV's UTF-8 ``data`` (with the header's names) and its units row (None when it has none).

    The channels are numbers as :func:`_numeric_read` reads them where it can; otherwise (a cell
    that is no number, an infinite one, an odd header) every cell is read as text, as before, and
    the checks of :func:`~assetgrade.ingest.series_validation.validate_series` name the cell.
    """
    where = str(path)
    fast = _numeric_read(data, sep, opts)
    if fast is not None:
        return _header_names(fast[0], data, sep, path), fast[1]
    try:
        df = _read_rows(data, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, path) from None
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise IngestError(f"not a readable CSV file: {exc}", where=where) from exc
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the extra leading cells of every row as an index
        raise IngestError(f"{df.index.nlevels + len(df.columns)} cells but the header has {len(df.columns)}"
                          " columns", where=f"{path}:row 2")
    if df.empty:
        raise IngestError("file has a header but no data rows", where=where)
    df = _header_names(df, data, sep, path)
    cols = [str(c) for c in df.columns]
    cells = {c: str(v).strip() for c, v in zip(cols, df.iloc[0].tolist(), strict=True)}
    time_col = _time_column(cols, opts)
    channels = [c for c in cols if c not in (time_col, opts.asset_col)]
    if not _is_units_row(cells, cols[0], time_col, channels):
        return df, None
    if len(df) == 1:
        raise IngestError("file has a header and a units row but no data rows", where=where)
    return df.iloc[1:], {c: cells[c] for c in channels if cells[c]}


def _numeric_read(data: bytes, sep: str, opts: SeriesOptions) -> tuple[pd.DataFrame, dict[str, str] | None] | None:
    """The CSV with its channels parsed as float64 by pandas (a units row left out, and returned), or None.

    Read as text, each cell took a string (about 10 times the file in memory; 5.6 GiB at the 512 MiB
    limit). pandas' parser gives the same float as the text checks (``pd.to_numeric`` of the
    stripped cell; -0 aside, which reads as -0.0) and NaN only for the cells those take as missing
    (:data:`~assetgrade.ingest.series_time.MISSING`); any other cell fails the read. So None (read
    it as text) is returned when a cell is no number, a channel holds an infinite value, or the
    header or first rows are odd (a name given twice, a units row the csv module reads otherwise):
    the cases whose messages quote the cell. The asset column stays text, and so does the time
    column unless it is numeric, every value finite and each above the one before (the messages of
    a missing, repeated or backward timestamp quote it as written).
    """
    try:
        head = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                           nrows=2)
    except ValueError:  # ParserError and EmptyDataError are ValueErrors: the text read names them
        return None
    names, labels = _header(data, sep), [str(c) for c in head.columns]
    named = [n for n in names if n]
    if len(head) < 2 or not isinstance(head.index, pd.RangeIndex) or len(names) != len(labels) \
            or not named or len(set(named)) != len(named):
        return None
    time_col = _time_column(named, opts)
    channels = [n for n in named if n not in (time_col, opts.asset_col)]
    row0 = [str(v).strip() for v in head.iloc[0].tolist()]
    cells = {n: v for n, v in zip(names, row0, strict=True) if n}
    units: dict[str, str] | None = None
    if _is_units_row(cells, named[0], time_col, channels):
        records, ends = _first_records(data, sep, 2)
        if len(records) < 2 or [c.strip() for c in records[1]] != row0 or any(
                v for n, v in zip(names, row0, strict=True) if not n):  # a unit over a nameless column: refused
            return None
        data = data[:ends[0]] + data[ends[1]:]  # the header, then the data rows
        units = {c: cells[c] for c in channels if cells[c]}
    label = dict(zip(names, labels, strict=True))  # a channel's name: pandas' label of its column
    text = {lab: str for lab in labels}  # by label: blank names repeat
    na = {label[c]: list(MISSING) for c in channels}
    for time_as_number in (time_col in label, False):  # a numeric time column is held as numbers where it can be
        dtype = {**text, **dict.fromkeys((label[c] for c in channels), "float64")}
        if time_as_number:
            dtype[label[time_col]] = "float64"
        try:
            df = _read_rows(data, sep=sep, dtype=dtype, na_values=na, keep_default_na=False, skipinitialspace=True)
        except ValueError:  # a cell that is no number: in the time column (dates), or a channel (read as text)
            continue
        if df.empty or not isinstance(df.index, pd.RangeIndex) or [str(c) for c in df.columns] != labels:
            return None
        if any(np.isinf(df[label[c]].to_numpy()).any() for c in channels):
            return None
        if time_as_number and not _increasing(df[label[time_col]].to_numpy()):
            continue  # a missing, repeated or earlier timestamp: its message quotes it as written
        return df, units
    return None


def _increasing(t: np.ndarray) -> bool:
    """Whether every value is finite and above the one before."""
    return bool(np.isfinite(t).all() and (np.diff(t) > 0).all())


_CHUNK_ROWS = 50_000


def _read_rows(data: bytes, **options: Any) -> pd.DataFrame:
    """``pd.read_csv`` of ``data`` with ``options``; ``_CHUNK_ROWS`` rows at a time when a column is read as text.

    Read at once, pandas held a Python string for every text cell of the file before it made the
    column (a time column of 300,000 ISO timestamps took 60 MiB more than its 7 MiB of text); the
    rows, columns and errors are the same. Numbers alone are read at once (the chunks and their
    concatenation took more).
    """
    dtype = options.get("dtype")
    if dtype is not str and str not in (dtype.values() if isinstance(dtype, dict) else ()):
        return pd.read_csv(io.BytesIO(data), **options)
    return pd.concat(list(pd.read_csv(io.BytesIO(data), chunksize=_CHUNK_ROWS, **options)))


def _refuse_short_rows(cells: np.ndarray | None, lines: np.ndarray, data: bytes, sep: str, path: Path) -> None:
    """An IngestError naming the first data row with fewer cells than the header names (and the columns it lacks).

    An empty cell is a missing sample (which ``--repair`` may fill); a cell the line does not have
    at all means a cut-off line, or two cells run together, so which channel the values that are
    there belong to would be a guess. pandas pads such a line (empty cells or NaN), so it used to be
    read as missing samples of the last channels, and ``--repair`` filled them in without a word.
    ``cells`` is the count per data row from :func:`_record_lines` (None when it could not count).
    """
    if cells is None:
        return
    header = _header(data, sep)
    named = max((k + 1 for k, h in enumerate(header) if h), default=0)  # a trailing blank-named column may be cut
    short = np.flatnonzero(cells < named)
    if not len(short):
        return
    i = int(short[0])
    lacking = [h for h in header[int(cells[i]):named] if h]
    raise IngestError(f"{int(cells[i])} cells but the header {'has' if named == len(header) else 'names'} {named}"
                      f" columns: no cell for {', '.join(lacking)} (a truncated line, or a missing {sep!r}?)",
                      where=f"{path}:row {int(lines[i])}:field {lacking[0]}")


def _record_lines(data: bytes, sep: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The file line each of the ``n`` data rows pandas read starts on (the header is line 1), and its cell count.

    pandas skips blank lines (and lines of blanks) and reads a quoted line break as part of its
    cell, so a row's place in the frame is not its line in the file: counted that way, every error
    after a blank line named the line above the bad one. The lines are counted here with the csv
    module, skipping what pandas skips; when the two disagree on the number of rows (input odd
    enough to be read differently), the old count (row place + 2) is kept and the cell counts are None.
    """
    fallback = np.arange(n, dtype=np.int64) + 2, None
    reader = csv.reader(_lines(data), delimiter=sep, skipinitialspace=True)
    out = array("q")  # a list took 36 bytes a row
    widths = array("q")
    try:
        if next(reader, None) is None:
            return fallback
        start = reader.line_num + 1
        for cells in reader:
            if cells and not (len(cells) == 1 and not cells[0].strip()):
                out.append(start)
                widths.append(len(cells))
            start = reader.line_num + 1
    except csv.Error:
        return fallback
    if len(out) != n:
        return fallback
    return np.frombuffer(out, dtype=np.int64), np.frombuffer(widths, dtype=np.int64)


def _lines(data: bytes, *, translate: bool = False) -> io.TextIOWrapper:
    """The lines of UTF-8 ``data`` as ``io.StringIO(text, newline="")`` gives them (with ``translate``, as
    ``io.StringIO(text)`` does: each ending as ``\\n``), decoded as they are read: a StringIO of the text took
    4 bytes a character."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None if translate else "")


def _header(data: bytes, sep: str) -> list[str]:
    """The header's names, stripped, as the csv module reads them."""
    return [h.strip() for h in next(csv.reader(_lines(data, translate=True), delimiter=sep,
                                               skipinitialspace=True), [])]


def _first_records(data: bytes, sep: str, n: int) -> tuple[list[list[str]], list[int]]:
    """The header and the first ``n - 1`` data records as the csv module reads them (blank lines skipped, as
    pandas does), and for each the byte of ``data`` just after it."""
    consumed = 0

    def lines() -> Iterator[str]:  # the csv module asks for a line only when its record needs one
        nonlocal consumed
        for line in _lines(data):
            consumed += len(line.encode("utf-8"))
            yield line

    records: list[list[str]] = []
    ends: list[int] = []
    try:
        for cells in csv.reader(lines(), delimiter=sep, skipinitialspace=True):
            if records and (not cells or (len(cells) == 1 and not cells[0].strip())):
                continue
            records.append(cells)
            ends.append(consumed)
            if len(records) == n:
                break
    except csv.Error:
        return [], []
    return records, ends


def _header_names(df: pd.DataFrame, data: bytes, sep: str, path: Path) -> pd.DataFrame:
    """The frame with the header's own names, stripped of spaces (pandas renames a repeated name
    ``v.1`` and a blank one ``Unnamed: 2``): a name given twice, or a blank name over a column with
    values, is an error naming the header row; a blank-named column without any value (a trailing
    separator on every line) is dropped."""
    names = _header(data, sep)
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

