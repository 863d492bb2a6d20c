"""Work-order CSV loader: per-asset lists of maintenance-log entries with dates and costs.

Reads the excavator work orders (Hodkiewicz & Ho 2016, from NIST's ``nestor`` package:
``BscStartDate, Asset, OriginalShorttext, PMType, Cost`` and, in the cleaned file,
``MajorSystem, Part, Action, FM`` ...) or any CSV with the same roles under other column
names. A bad row is recorded with its row number and skipped; the batch goes on.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import IngestError, NotFoundError, ValidationError
from assetgrade.store.records import LogEntry

__all__ = ["EXCAVATOR_FILES", "WorkOrders", "load_work_orders", "read_work_orders"]

EXCAVATOR_FILES = {"raw": "excavators.csv", "cleaned": "excavators-cleaned.csv"}


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


def _date(value: str) -> datetime | None:
    value = value.strip()
    if not value or value.upper() == "NA":
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(f"unreadable date {value!r} (expected YYYY-MM-DD)")


def _cost(value: str) -> float | None:
    value = value.strip().replace(",", "").lstrip("$")
    if not value or value.upper() in ("NA", "NAN"):
        return None
    cost = float(value)
    if not math.isfinite(cost):
        raise ValueError(f"cost {value!r} is not a finite number")
    return cost


def read_work_orders(
    stream: io.TextIOBase | io.StringIO,
    *,
    source: str = "<stream>",
    text_column: str = "OriginalShorttext",
    asset_column: str = "Asset",
    date_column: str = "BscStartDate",
    cost_column: str = "Cost",
) -> WorkOrders:
    """Parse work orders from a text stream; other columns go to ``LogEntry.attributes``."""
    reader = csv.DictReader(stream)  # type: ignore[arg-type]
    fields = reader.fieldnames or []
    for col in (text_column, asset_column):
        if col not in fields:
            raise ValidationError(f"column {col!r} missing; columns: {fields}", where=source)
    by_asset: dict[str, list[LogEntry]] = {}
    errors: list[IngestError] = []
    for rowno, row in enumerate(reader, start=2):
        where = f"{source}:{rowno}"
        try:
            asset = (row.get(asset_column) or "").strip()
            if not asset:
                raise ValueError(f"empty {asset_column!r}")
            text = row.get(text_column) or ""
            date = _date(row.get(date_column) or "") if date_column in fields else None
            cost = _cost(row.get(cost_column) or "") if cost_column in fields else None
        except ValueError as exc:
            errors.append(IngestError(str(exc), where=where))
            continue
        attrs = {
            k: v
            for k, v in row.items()
            if k not in (text_column, asset_column, date_column, cost_column) and k and v not in (None, "", "NA")
        }
        entry = LogEntry(evidence_id=f"{Path(source).name}:{rowno}", text=text, date=date, cost=cost, attributes=attrs)
        by_asset.setdefault(asset, []).append(entry)
    for entries in by_asset.values():
        entries.sort(key=lambda e: (e.date or datetime.min, e.evidence_id))
    return WorkOrders(by_asset, errors)


def load_work_orders(path: Path | None = None, *, variant: str = "cleaned", **columns: str) -> WorkOrders:
    """Load a work-order CSV (default: the shared excavator file ``variant`` raw or cleaned).

    Bytes that are not UTF-8 are replaced (U+FFFD) and reported as an error on the file.
    """
    if path is None or path.is_dir():
        if variant not in EXCAVATOR_FILES:
            raise ValidationError(f"variant {variant!r}; allowed: {sorted(EXCAVATOR_FILES)}", where="variant")
        path = dataset_dir("excavator-work-orders", path) / EXCAVATOR_FILES[variant]
    if not path.exists():
        raise NotFoundError(f"work-order file {path} does not exist")
    data = path.read_bytes()
    bad: list[IngestError] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        bad.append(IngestError(f"not valid UTF-8 at byte {exc.start}; bad bytes replaced", where=str(path)))
    wo = read_work_orders(io.StringIO(text), source=str(path), **columns)
    wo.errors[:0] = bad
    return wo
