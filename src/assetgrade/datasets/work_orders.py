"""Work-order CSV loader: per-asset lists of maintenance-log entries with dates and costs.

Reads the excavator work orders (Hodkiewicz & Ho 2016, from NIST's ``nestor`` package:
``BscStartDate, Asset, OriginalShorttext, PMType, Cost`` and, in the cleaned file,
``MajorSystem, Part, Action, FM`` ...) or any CSV with the same roles under other column
names. A bad row is recorded with its row number and skipped; the batch goes on. The same
row reader serves :func:`read_labelled_texts` (``assetgrade bench text --task classify``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import IngestError, NotFoundError, ValidationError
from assetgrade.ingest.fields import parse_float
from assetgrade.ingest.inputs import WORKBOOK_MAGIC, CsvRow, parse_csv
from assetgrade.ingest.workorders import NO_VALUE
from assetgrade.store.records import LogEntry

__all__ = [
    "EXCAVATOR_FILES",
    "MISSING",
    "LabelledTexts",
    "WorkOrders",
    "decode_csv",
    "load_work_orders",
    "read_labelled_texts",
    "read_work_orders",
]

EXCAVATOR_FILES = {"raw": "excavators.csv", "cleaned": "excavators-cleaned.csv"}

MISSING = NO_VALUE | {""}
"""Cell values read as "no value" (the common ones pandas reads as missing; ``ingest work-orders`` reads the same)."""


@dataclass
class WorkOrders:
    """Log entries grouped by asset, plus the rows that could not be read.

    Examples
    --------
    >>> wo = read_work_orders(io.StringIO("BscStartDate,Asset,OriginalShorttext,PMType,Cost\\n"
    ...     "2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05\\n"), source="demo.csv")
    >>> wo.by_asset["A"][0].cost, wo.errors
    (183.05, [])
    """

    by_asset: dict[str, list[LogEntry]]
    errors: list[IngestError] = field(default_factory=list)

    @property
    def n_entries(self) -> int:
        return sum(len(v) for v in self.by_asset.values())


def _date(value: str, where: str) -> datetime | None:
    """ISO dates (``2004-07-01``, with a time, or ``2004/07/01``) and day-first ``31/12/2004``.

    A slashed date whose first two numbers could both be the month (``07/01/2004``) is refused:
    reading it day-first or month-first would be a guess.
    """
    value = value.strip()
    if value in MISSING:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    if m and int(m[1]) <= 12 and int(m[2]) <= 12 and int(m[1]) != int(m[2]):
        raise IngestError(f"date {value!r} is ambiguous (day/month or month/day?); write it as YYYY-MM-DD",
                          where=where)
    try:
        return datetime.strptime(value, "%d/%m/%Y")
    except ValueError:
        pass
    raise IngestError(f"unreadable date {value!r} (expected YYYY-MM-DD, or DD/MM/YYYY)", where=where)


def _cost(value: str, where: str) -> float | None:
    """A finite number; ``1,250.50`` is read with its thousands separator, ``1,5`` is refused as ambiguous."""
    value = value.strip()
    if value in MISSING:
        return None
    return parse_float(value, where=where)


def _table(text: str, source: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]] | IngestError]]:
    """The header and the rows of a CSV text: ``(line, cells by column)`` or an IngestError naming the line.

    :func:`assetgrade.ingest.inputs.parse_csv` reads it, as ``ingest work-orders`` does (cells kept unstripped).
    """
    header, rows = parse_csv(text, where=source, strip=False)

    def named() -> Iterator[tuple[int, dict[str, str]] | IngestError]:
        for row in rows:
            if isinstance(row, CsvRow):
                yield row.line, row.values
            else:
                yield IngestError(row[1], where=f"{source}:{row[0]}")

    return header, named()


def _check_columns(header: list[str], columns: tuple[str | None, ...], source: str) -> None:
    for col in columns:
        if col is not None and col not in header:
            raise ValidationError(f"column {col!r} missing; columns: {header}", where=source)


def read_work_orders(
    stream: io.TextIOBase | io.StringIO,
    *,
    source: str = "<stream>",
    text_column: str = "OriginalShorttext",
    asset_column: str = "Asset",
    date_column: str = "BscStartDate",
    cost_column: str = "Cost",
) -> WorkOrders:
    """Parse work orders from a text stream; other columns go to ``LogEntry.attributes``.

    The separator is the one the header line uses most (``,``, ``;`` or tab). Errors name the
    line the row starts on.
    """
    fields, rows = _table(stream.read(), source)
    _check_columns(fields, (text_column, asset_column), source)
    mapped = (text_column, asset_column, date_column, cost_column)
    by_asset: dict[str, list[LogEntry]] = {}
    errors: list[IngestError] = []
    for row in rows:
        if isinstance(row, IngestError):
            errors.append(row)
            continue
        rowno, cells = row
        where = f"{source}:{rowno}"
        try:
            asset = cells[asset_column].strip()
            if not asset:
                raise IngestError("asset is empty", where=f"{where}:{asset_column}")
            text = cells[text_column]
            if "\x00" in text:
                raise IngestError("the text holds a NUL byte: is the file UTF-16 or binary?",
                                  where=f"{where}:{text_column}")
            date = _date(cells[date_column], f"{where}:{date_column}") if date_column in fields else None
            cost = _cost(cells[cost_column], f"{where}:{cost_column}") if cost_column in fields else None
        except IngestError as exc:
            errors.append(exc)
            continue
        attrs = {k: v for k, v in cells.items() if k not in mapped and k and v.strip() not in MISSING}
        entry = LogEntry(evidence_id=f"{Path(source).name}:{rowno}", text=text, date=date, cost=cost, attributes=attrs)
        by_asset.setdefault(asset, []).append(entry)
    for entries in by_asset.values():
        entries.sort(key=lambda e: (e.date or datetime.min, e.evidence_id))
    return WorkOrders(by_asset, errors)


def decode_csv(path: Path) -> tuple[str, list[IngestError]]:
    """A CSV file's text: UTF-8 (a BOM allowed), UTF-16 when it starts with a UTF-16 BOM.

    Bytes that are not UTF-8 are replaced (U+FFFD) and reported as one error naming the first bad line.
    """
    if not path.exists():
        raise NotFoundError(f"file {path} does not exist")
    if path.is_dir():
        raise ValidationError("is a folder; expected a CSV file", where=str(path))
    data = path.read_bytes()
    if data.startswith(WORKBOOK_MAGIC):
        raise ValidationError("is an Excel workbook (or another ZIP/OLE file), not a CSV: save the sheet as "
                              "'CSV UTF-8'", where=str(path))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise IngestError(f"starts with a UTF-16 byte-order mark but is not UTF-16: {exc}",
                              where=str(path)) from None
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return data.decode("utf-8-sig", errors="replace"), [IngestError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}, the first bad one); bad bytes replaced: is the file "
            "Latin-1 or cp1252? re-save it as UTF-8", where=f"{path}:{line}")]


def load_work_orders(path: Path | None = None, *, variant: str = "cleaned", **columns: str) -> WorkOrders:
    """Load a work-order CSV (default: the shared excavator file ``variant`` raw or cleaned).

    Bytes that are not UTF-8 are replaced (U+FFFD) and reported as an error on the file;
    a file with a UTF-16 byte-order mark is read as UTF-16.
    """
    if path is None or path.is_dir():
        if variant not in EXCAVATOR_FILES:
            raise ValidationError(f"variant {variant!r}; allowed: {sorted(EXCAVATOR_FILES)}", where="variant")
        path = dataset_dir("excavator-work-orders", path) / EXCAVATOR_FILES[variant]
    if not path.exists():
        raise NotFoundError(f"work-order file {path} does not exist")
    text, bad = decode_csv(path)
    wo = read_work_orders(io.StringIO(text), source=str(path), **columns)
    wo.errors[:0] = bad
    return wo


@dataclass
class LabelledTexts:
    """Rows of a labelled text CSV (``bench text --task classify``) and what was left out, with why."""

    texts: list[str]
    labels: list[str]
    groups: list[str] | None
    n_rows: int
    dropped: dict[str, int]
    errors: list[IngestError]
    notices: list[str] = field(default_factory=list)
    """File-level problems the rows were still read through (bytes that are not UTF-8, replaced)."""


def read_labelled_texts(path: Path, text_column: str, label_column: str,
                        group_column: str | None = None) -> LabelledTexts:
    """Text, label (and group) per row of a CSV; unreadable rows are errors, rows without text or label dropped.

    A label or text in :data:`MISSING` counts as absent; a row without its group is an error
    (grouped folds cannot place it).
    """
    text, decode_errors = decode_csv(path)
    errors: list[IngestError] = []
    header, rows = _table(text, str(path))
    _check_columns(header, (text_column, label_column, group_column), str(path))
    texts: list[str] = []
    labels: list[str] = []
    groups: list[str] = []
    dropped = {"no_text": 0, "no_label": 0}
    n_rows = 0
    for row in rows:
        n_rows += 1
        if isinstance(row, IngestError):
            errors.append(row)
            continue
        line, cells = row
        if group_column is not None and cells[group_column].strip() in MISSING:
            errors.append(IngestError(f"group is empty ({cells[group_column]!r})",
                                      where=f"{path}:{line}:{group_column}"))
            continue
        lab, txt = cells[label_column].strip(), cells[text_column]
        if txt.strip() in MISSING:
            dropped["no_text"] += 1
            continue
        if lab in MISSING:
            dropped["no_label"] += 1
            continue
        texts.append(txt)
        labels.append(lab)
        if group_column is not None:
            groups.append(cells[group_column].strip())
    return LabelledTexts(texts, labels, groups if group_column is not None else None, n_rows, dropped, errors,
                         [str(e) for e in decode_errors])
