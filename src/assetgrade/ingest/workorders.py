"""Work-order CSVs: one log-entry evidence item per row (text, date, cost), grouped into assets by a column."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assetgrade.errors import IngestError
from assetgrade.ingest.fields import parse_datetime, parse_float
from assetgrade.ingest.inputs import CsvRow, read_csv_rows
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["NO_VALUE", "RESERVED_ATTRIBUTES", "WorkOrderColumns", "work_order_items"]

NO_VALUE = frozenset({"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A"})
"""Date and cost cells that mean "not recorded" (R and spreadsheet exports write them): read as empty."""

RESERVED_ATTRIBUTES = ("date", "cost")
"""Attributes the importer fills from the mapped columns; another column of that name is kept as ``column:<name>``."""


@dataclass(frozen=True)
class WorkOrderColumns:
    """Which columns hold what. The defaults fit the excavator work-order file (Hodkiewicz & Ho 2016).

    Examples
    --------
    >>> WorkOrderColumns().text
    'OriginalShorttext'
    """

    text: str = "OriginalShorttext"
    date: str | None = "BscStartDate"
    cost: str | None = "Cost"
    asset: str = "Asset"
    date_format: str | None = None


def work_order_items(
    path: Path, cols: WorkOrderColumns, *, encoding: str | None = None, asset_prefix: str = "",
    asset_type: str | None = None, origin: str = "real", source: str | None = None,
) -> Iterator[ItemSpec | RowError | IngestNotice]:
    """Items (or row errors) from a work-order CSV; other columns are kept as attributes.

    A column named like an attribute the importer fills (``date``, ``cost``) but not mapped to it
    is kept as ``column:date`` (one notice says so): it must not replace the parsed ISO date, which
    the text features and the asset summaries read.
    Rows equal to an earlier row in every cell (blanks around cells ignored, as when read) are kept
    and named in one notice after the rows: how many, and the first five with the row each repeats.
    """
    required = tuple(c for c in (cols.text, cols.asset, cols.date, cols.cost) if c)
    header, rows = read_csv_rows(path, encoding=encoding, required=(cols.text, cols.asset))
    for role, col in (("date", cols.date), ("cost", cols.cost)):
        if col and col not in header:  # optional roles: say how to do without them
            raise IngestError(f"the {role} column {col!r} is not in the header ({', '.join(header)}); map the "
                              f"{role} to one of these columns, or to none (empty) if the file has no {role}s",
                              where=f"{path}:row 1")
    renamed = {k: f"column:{k}" for k in header if k in RESERVED_ATTRIBUTES and k not in required}
    for k, new in renamed.items():
        filled = {"date": cols.date, "cost": cols.cost}[k]
        mapped = f"from column {filled!r}" if filled else "not mapped to a column"
        yield IngestNotice(str(path), 1, f"column {k!r} is kept as attribute {new!r}: {k!r} is the parsed "
                                         f"work-order {k} ({mapped})")
    seen: Counter[str] = Counter()
    first_row: dict[tuple[str, ...], int] = {}
    repeats: list[tuple[int, int]] = []
    for r in rows:
        if not isinstance(r, CsvRow):
            yield RowError(str(path), r[0], None, r[1])
            continue
        v = r.values
        first = first_row.setdefault(tuple(v.values()), r.line)
        if first != r.line:
            repeats.append((r.line, first))
        where = f"{path}:row {r.line}"
        try:
            nul = next((k for k, val in v.items() if "\x00" in val), None)
            if nul is not None:
                raise IngestError("the cell holds a NUL byte (0x00): is the file UTF-16 or binary? pass --encoding "
                                  "utf-16 or re-save it as UTF-8 CSV", where=f"{where}:field {nul}")
            text = v.get(cols.text, "")
            if not text.strip():
                raise IngestError("text is empty", where=f"{where}:field {cols.text}")
            asset = v.get(cols.asset, "").strip()
            if not asset:
                raise IngestError("asset is empty", where=f"{where}:field {cols.asset}")
            attrs: dict[str, Any] = {}
            if cols.date and v.get(cols.date, "").strip() not in NO_VALUE:
                dt = parse_datetime(v.get(cols.date), where=f"{where}:field {cols.date}", fmt=cols.date_format)
                if dt is not None:
                    attrs["date"] = dt.isoformat()
            if cols.cost and v.get(cols.cost, "").strip() not in NO_VALUE:
                cost = parse_float(v.get(cols.cost), where=f"{where}:field {cols.cost}")
                if cost is not None:
                    attrs["cost"] = cost
        except IngestError as exc:
            yield RowError.from_exception(exc, str(path), r.line)
            continue
        for k, val in v.items():
            if k not in required and val:
                attrs[renamed.get(k, k)] = val
        key = "\x1f".join((asset, attrs.get("date", ""), text, str(attrs.get("cost", ""))))
        seen[key] += 1
        source_key = hashlib.sha256(f"{key}\x1f{seen[key]}".encode()).hexdigest()
        yield ItemSpec(where=where, asset_id=asset_prefix + asset, kind="log", source_key=source_key, text=text,
                       media_type="text/plain", asset_type=asset_type, attributes=attrs,
                       provenance=ProvenanceInfo(source=source or path.name, origin=origin), row=r.line,
                       file=str(path))
    if repeats:
        yield _repeats_notice(str(path), repeats)


def _repeats_notice(file: str, repeats: list[tuple[int, int]], shown: int = 5) -> IngestNotice:
    """One data-quality note for rows equal to an earlier row in every cell: how many, the first ``shown``."""
    named = ", ".join(f"row {line} (= row {first})" for line, first in repeats[:shown])
    more = f" and {len(repeats) - shown} more" if len(repeats) > shown else ""
    return IngestNotice(file, None, f"{len(repeats)} rows repeat an earlier row cell for cell: {named}{more}; "
                                    "each is kept as its own log entry (no column tells a job done twice from one "
                                    "entered twice), so counts and cost sums include them")
