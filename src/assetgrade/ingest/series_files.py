"""Reading one sensor series file (CSV or Parquet) into a raw frame: delimiter, header names and the units row."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import read_text
from assetgrade.ingest.series_options import _TIME_NAMES, SeriesOptions, _time_column

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
    lines, widths = _record_lines(text, sep, len(df))
    cols = [str(c) for c in df.columns]
    cells = {c: str(v).strip() for c, v in zip(cols, df.iloc[0].tolist(), strict=True)}
    time_col = _time_column(cols, opts)
    channels = [c for c in cols if c not in (time_col, opts.asset_col)]
    if not _is_units_row(cells, cols[0], time_col, channels):
        _refuse_short_rows(widths, lines, text, sep, path)
        return df.set_axis(lines - 2, axis=0), {}, 2
    if len(df) == 1:
        raise IngestError("file has a header and a units row but no data rows", where=where)
    units = {c: cells[c] for c in channels if cells[c]}
    _refuse_short_rows(None if widths is None else widths[1:], lines[1:], text, sep, path)
    return df.iloc[1:].set_axis(lines[1:] - 3, axis=0), units, 3


def _refuse_short_rows(cells: np.ndarray | None, lines: np.ndarray, text: str, sep: str, path: Path) -> None:
    """An IngestError naming the first data row with fewer cells than the header names (and the columns it lacks).

    An empty cell is a missing sample (which ``--repair`` may fill); a cell the line does not have
    at all means a cut-off line, or two cells run together, so which channel the values that are
    there belong to would be a guess. pandas pads such a line (empty cells or NaN), so it used to be
    read as missing samples of the last channels, and ``--repair`` filled them in without a word.
    ``cells`` is the count per data row from :func:`_record_lines` (None when it could not count).
    """
    if cells is None:
        return
    header = [h.strip() for h in next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep,
                                                 skipinitialspace=True), [])]
    named = max((k + 1 for k, h in enumerate(header) if h), default=0)  # a trailing blank-named column may be cut
    short = np.flatnonzero(cells < named)
    if not len(short):
        return
    i = int(short[0])
    lacking = [h for h in header[int(cells[i]):named] if h]
    raise IngestError(f"{int(cells[i])} cells but the header {'has' if named == len(header) else 'names'} {named}"
                      f" columns: no cell for {', '.join(lacking)} (a truncated line, or a missing {sep!r}?)",
                      where=f"{path}:row {int(lines[i])}:field {lacking[0]}")


def _record_lines(text: str, sep: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The file line each of the ``n`` data rows pandas read starts on (the header is line 1), and its cell count.

    pandas skips blank lines (and lines of blanks) and reads a quoted line break as part of its
    cell, so a row's place in the frame is not its line in the file: counted that way, every error
    after a blank line named the line above the bad one. The lines are counted here with the csv
    module, skipping what pandas skips; when the two disagree on the number of rows (input odd
    enough to be read differently), the old count (row place + 2) is kept and the cell counts are None.
    """
    fallback = np.arange(n, dtype=np.int64) + 2, None
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=sep, skipinitialspace=True)
    out: list[int] = []
    widths: list[int] = []
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
    return np.asarray(out, dtype=np.int64), np.asarray(widths, dtype=np.int64)


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

