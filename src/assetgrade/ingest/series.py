"""Sensor series import (CSV or Parquet): validation, optional repair, stored as Parquet blobs.

Checks each series for unparsable, missing, infinite or duplicated timestamps, timestamps that go
backwards, NaN runs, non-numeric and infinite cells, and checks units (a units row under the
header and/or ``--units``) for mismatches. Without ``repair`` each problem is an error naming the
row and channel; with ``repair`` the series is sorted, de-duplicated (first sample kept) and NaN
runs are linearly interpolated in time (runs longer than ``max_gap`` samples still fail), and each
repair is recorded as a note in the evidence's provenance. A file that cannot be read at all
(missing, not CSV/Parquet, rows with more cells than the header) is one error naming the file.

The work is split by concept: :mod:`~assetgrade.ingest.series_options` (``SeriesOptions``, the time
column), :mod:`~assetgrade.ingest.series_files` (reading a file, its delimiter, header and units
row), :mod:`~assetgrade.ingest.series_validation` (``validate_series``, with
:mod:`~assetgrade.ingest.series_time` for the timestamps); this module turns checked series into
Parquet blobs and ingest items, and every name is importable from here as before.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import IngestError, ValidationError
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.ingest.series_files import _read
from assetgrade.ingest.series_options import NUMERIC_TIME, SeriesOptions
from assetgrade.ingest.series_overlap import BatchSpans, attribute_span, span_attributes
from assetgrade.ingest.series_time import MISSING as _MISSING
from assetgrade.ingest.series_validation import _file_errors, validate_series
from assetgrade.store.blobs import sha256_bytes
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


def _rows_text(lines: np.ndarray, shown: int = 5) -> str:
    """File rows for a message: the first ``shown`` and how many more."""
    head = ", ".join(str(int(v)) for v in lines[:shown])
    return head if len(lines) <= shown else f"{head} and {len(lines) - shown} more"

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
    info.update(span_attributes(frame))
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
) -> Iterator[ItemSpec | RowError]:
    """One item per file (asset = ``asset_id`` or the file stem), or per asset with ``opts.asset_col``.

    A file that cannot be read is one ``RowError`` naming it; the other files still go in. A numeric
    time column read as Unix time is said in an ``IngestNotice`` (the reading is a guess from its range) on the
    item's ``notices``, so it is said once the item is stored, not for one the writer refuses. A file
    giving an asset a channel over times an earlier file of these ``paths`` gave it gets a notice in its item's
    ``notices``, which the :class:`~assetgrade.ingest.writer.Ingestor` says once the item is stored (so not for a
    file it refuses: the same name in two folders is one evidence id); it says the same of a series stored by an
    earlier ingest. Each
    item's attributes record its first and last time (``time_first``, ``time_last``).
    ``asset_id`` and ``opts.asset_col`` together are a ValidationError (the column would overrule the id).
    """
    if asset_id is not None and opts.asset_col is not None:
        raise ValidationError("give asset_id or asset_col, not both: with asset_col each row's asset is read from "
                              "that column", where="asset_id")
    spans = BatchSpans()
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
                        at = df.index.to_numpy()[blank] + first  # file lines (blank lines counted)
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
            info.update(span_attributes(frame))
            said = epoch_notice(frame, info)
            spec = ItemSpec(where=where, asset_id=aid, kind="series", source_key=f"{path.name}#{aid}", data=data,
                            media_type=SERIES_MEDIA_TYPE, asset_type=asset_type, attributes=info,
                            provenance=ProvenanceInfo(source=source or path.name, origin=origin,
                                                      notes=notes or None),
                            file=str(path))
            if said:  # said once stored, as the overlap below: a file the writer refuses was read as nothing
                spec.notices.append(IngestNotice(str(path), None, f"{where}: {said}"))
            for overlap, earlier in spans.add(aid, str(path), attribute_span(info), item=spec.resolved_id(),
                                              content=sha256_bytes(data)):
                spec.notices.append(IngestNotice(str(path), None, overlap, requires=earlier))
            yield spec
