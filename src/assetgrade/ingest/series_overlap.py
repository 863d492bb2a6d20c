"""A series that overlaps one already stored for its asset: each series' time span, and the notice an ingest gives.

The sensor extractor reads one series per asset and flags the others, so a series that gives an asset a
channel over times a stored series of that asset already covers (a sensor log exported again with a few more
days, under another file name) is said in an :class:`~assetgrade.ingest.report.IngestNotice` once its row is
committed; both are kept. :func:`~assetgrade.ingest.series.series_items` says the same of two files of one
input, so the series of this run's input are left out here (also those an interrupted run of the same input
stored, which the same command run again finds stored: they would be said twice).

A series' span is its first and last time, recorded at ingest in the evidence attributes ``time_first`` and
``time_last`` (ISO 8601 text in UTC for datetimes, the number for numeric time). A series stored before they
were recorded is read from its blob's Parquet footer (the statistics of the time index column; the samples
are not read), only when its channels and time kind could overlap. One query per row group finds the assets'
stored series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from assetgrade.errors import AssetgradeError
from assetgrade.ingest.report import IngestNotice
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from assetgrade.ingest.preparation import _Prepared
    from assetgrade.store.blobs import BlobStore
    from assetgrade.workspace import Workspace

__all__ = ["BatchSpans", "SeriesSpan", "attribute_span", "parquet_span", "span_attributes", "stored_overlaps"]

_CHUNK = 500  # asset ids per query (SQLite's bound-parameter limit)


@dataclass(frozen=True)
class SeriesSpan:
    """What decides whether two series overlap: their time kind, channels, and first and last time."""

    kind: str
    """``datetime`` or ``numeric``: the two never overlap."""
    channels: frozenset[str]
    first: Any
    last: Any

    def overlap(self, other: SeriesSpan) -> tuple[list[str], Any, Any] | None:
        """The shared channels and the stretch of time both cover (None when they share no channel or time).

        >>> a = SeriesSpan("numeric", frozenset({"temp", "vib"}), 0, 59)
        >>> a.overlap(SeriesSpan("numeric", frozenset({"temp"}), 30, 89))
        (['temp'], 30, 59)
        >>> a.overlap(SeriesSpan("numeric", frozenset({"temp"}), 60, 89)) is None  # a continuation
        True
        """
        shared = sorted(self.channels & other.channels)
        if not shared or self.kind != other.kind or not (self.first <= other.last and other.first <= self.last):
            return None
        return shared, max(self.first, other.first), min(self.last, other.last)


def when(t: Any) -> str:
    """A time of a series for a message: a datetime as ``YYYY-MM-DD HH:MM:SS``, a number as it prints."""
    if isinstance(t, pd.Timestamp):
        return str(t.strftime("%Y-%m-%d %H:%M:%S"))
    return f"{float(t):g}"


def span_attributes(frame: pd.DataFrame) -> dict[str, Any]:
    """``time_first`` and ``time_last`` of a checked series (sorted, not empty) for its evidence attributes.

    >>> span_attributes(pd.DataFrame({"temp": [1.0, 2.0]}, index=pd.Index([3, 7], name="cycle")))
    {'time_first': 3, 'time_last': 7}
    """
    return {"time_first": _as_attribute(frame.index[0]), "time_last": _as_attribute(frame.index[-1])}


def _as_attribute(t: Any) -> Any:
    if isinstance(t, pd.Timestamp):
        return (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")).isoformat()
    return t.item() if hasattr(t, "item") else t  # a numpy number as the JSON number it is


def _utc(value: Any) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is no number")
    return value


def attribute_span(attrs: dict[str, Any] | None) -> SeriesSpan | None:
    """The span an item's attributes record (None when they lack any of it, or hold something else there)."""
    a = attrs or {}
    kind, channels = a.get("time_kind"), a.get("channels")
    if kind not in ("datetime", "numeric") or not isinstance(channels, list) or "time_first" not in a \
            or "time_last" not in a:
        return None
    read = _utc if kind == "datetime" else _number
    try:
        return SeriesSpan(kind, frozenset(map(str, channels)), read(a["time_first"]), read(a["time_last"]))
    except (TypeError, ValueError):
        return None


class BatchSpans:
    """The series of one input so far, by asset: says when a later one overlaps an earlier one of its asset.

    ``ingest series`` (a file, or a file's asset with ``--asset-col``) and ``ingest manifest`` (a series row)
    add each series as they read it; both series still go in, since which one is right is the user's call,
    but the extractor reads one series per asset, so without a word one of them was left out unseen. The
    importers put what is said on the later item (``ItemSpec.notices``), said once its row is stored. A
    series whose evidence id an earlier one of the input gave (one file name in two folders, a manifest's
    ``evidence_id`` given twice) is that item again, not a second series: the writer stores it once, or refuses
    it for its other content; it is not compared, and later ones are not compared with it. A series stored by
    an earlier ingest is compared when the item is committed (:func:`stored_overlaps`).

    Each overlap is said only if the earlier series is stored when the later one is written
    (``IngestNotice.requires``: its asset and content, ``content`` here): the writer may refuse the earlier one
    (another asset's id, other content under one id), and then there is no overlap to speak of.

    >>> spans = BatchSpans()
    >>> spans.add("p", "a.csv", SeriesSpan("numeric", frozenset({"temp"}), 0, 59), item="E1", content="5e1f")
    []
    >>> [(said[:64], earlier) for said, earlier in spans.add("p", "b.csv",
    ...                                                      SeriesSpan("numeric", frozenset({"temp"}), 30, 89))]
    [("asset 'p': channel(s) temp overlap the series from a.csv in this", ('p', '5e1f'))]
    """

    def __init__(self) -> None:
        self._spans: dict[str, list[tuple[str, SeriesSpan, tuple[str, str] | None]]] = defaultdict(list)
        self._items: set[str] = set()

    def add(self, asset_id: str, name: str, span: SeriesSpan | None, *, item: str | None = None,
            content: str | None = None) -> list[tuple[str, tuple[str, str] | None]]:
        """What to say when ``span`` shares a channel and a stretch of time with earlier series of ``asset_id``
        in this input: one (message, (asset id, sha256) of the earlier series) per such series, in input order
        (else empty); ``name`` names it in what is said of a later one.

        ``item`` is its evidence id: a series whose id an earlier one gave is not compared (empty). ``content``
        is the sha256 of its stored bytes (None: what is said of a later one is said whatever became of it).
        """
        if item is not None:
            if item in self._items:
                return []
            self._items.add(item)
        if span is None:
            return []
        said = []
        for other, earlier, earlier_item in self._spans[asset_id]:
            hit = span.overlap(earlier)
            if hit is not None:
                shared, start, end = hit
                said.append((f"asset {asset_id!r}: channel(s) {', '.join(shared)} overlap the series from {other} in"
                             f" this batch ({when(start)} to {when(end)}); the sensor evidence of an asset is read from"
                             " one series (the others are flagged and left out): merge the files, or give each its"
                             " own asset", earlier_item))
        self._spans[asset_id].append((name, span, None if content is None else (asset_id, content)))
        return said


def parquet_span(fh: IO[bytes]) -> SeriesSpan:
    """The span of a stored series blob, from its Parquet footer: channels from the schema, first and last time
    from the statistics of the index column (the column itself is read only where a writer left them out).

    ValueError when the blob is no Parquet file with one time index, as ingest writes them.
    """
    import pyarrow as pa

    try:
        return _footer_span(fh)
    except pa.ArrowException as exc:  # a damaged file: ArrowInvalid, an ArrowIOError...
        raise ValueError(f"not a Parquet file ({exc})") from exc


def _footer_span(fh: IO[bytes]) -> SeriesSpan:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(fh)
    schema = pf.schema_arrow
    index = (schema.pandas_metadata or {}).get("index_columns") or []
    if len(index) != 1 or not isinstance(index[0], str) or index[0] not in schema.names:
        raise ValueError("no time index column in its Parquet schema")
    name = index[0]
    kind = "datetime" if pa.types.is_timestamp(schema.field(name).type) else "numeric"
    channels = frozenset(n for n in schema.names if n != name)
    md = pf.metadata
    col = next((i for i in range(md.num_columns) if md.schema.column(i).path == name), None)
    if col is None:
        raise ValueError(f"its time index {name!r} is no column of its Parquet file")
    lows, highs = [], []
    for g in range(md.num_row_groups):
        if md.row_group(g).num_rows == 0:
            continue
        stats = md.row_group(g).column(col).statistics
        if stats is None or not stats.has_min_max:
            values = pf.read(columns=[name]).column(0)
            lows, highs = [pc.min(values).as_py()], [pc.max(values).as_py()]
            break
        lows.append(stats.min)
        highs.append(stats.max)
    if not lows or lows[0] is None:
        raise ValueError("the series holds no samples")
    read = _utc if kind == "datetime" else (lambda v: v.item() if hasattr(v, "item") else v)
    return SeriesSpan(kind, channels, min(map(read, lows)), max(map(read, highs)))


def _new_span(blobs: BlobStore, p: _Prepared) -> SeriesSpan | None:
    """The span of an item about to be stored; recorded in its attributes when they did not say it."""
    span = attribute_span(p.attributes)
    if span is not None:
        return span
    import io

    try:
        if p.data is not None:
            span = parquet_span(io.BytesIO(p.data))
        elif p.blob_sha is not None:
            with blobs.open(p.blob_sha) as fh:
                span = parquet_span(fh)
        else:
            return None
    except (ValueError, AssetgradeError, OSError):
        return None  # bytes that are no series ingest wrote: nothing to compare
    p.attributes.setdefault("time_kind", span.kind)
    p.attributes.setdefault("channels", sorted(span.channels))
    p.attributes.update(time_first=_as_attribute(span.first), time_last=_as_attribute(span.last))
    return span


@dataclass(frozen=True)
class _Stored:
    evidence_id: str
    blob_sha: str | None
    attributes: dict[str, Any]
    source: str | None
    batch_id: str | None

    def named(self) -> str:
        """``the series from 'a.csv' stored by ingest batch B as ev_...``: its source, batch and evidence id."""
        source = "the series of unknown source" if self.source is None else f"the series from {self.source!r}"
        batch = "" if self.batch_id is None else f" by ingest batch {self.batch_id}"
        return f"{source} stored{batch} as {self.evidence_id}"


def _stored_series(ws: Workspace, asset_ids: Sequence[str], skip: Collection[tuple[str, str]]
                   ) -> dict[str, list[_Stored]]:
    """The series stored for ``asset_ids``, but those whose (evidence id, sha256) is in ``skip`` and withdrawn ones,
    by asset, in evidence id order."""
    out: dict[str, list[_Stored]] = defaultdict(list)
    with ws.session(readonly=True) as s:
        for i in range(0, len(asset_ids), _CHUNK):
            q = (select(Evidence.id, Evidence.asset_id, Evidence.sha256, Evidence.blob_sha, Evidence.attributes,
                        Provenance.source, Provenance.ingest_batch_id)
                 .outerjoin(Provenance, Provenance.evidence_id == Evidence.id)
                 .where(Evidence.kind == "series", Evidence.asset_id.in_(asset_ids[i:i + _CHUNK]), not_withdrawn())
                 .order_by(Evidence.id))
            for eid, aid, sha, blob, attrs, source, batch in s.execute(q).tuples():
                if (eid, sha) not in skip:
                    out[aid].append(_Stored(eid, blob, dict(attrs or {}), source, batch))
    return out


def stored_overlaps(ws: Workspace, ready: Sequence[_Prepared], this_input: Collection[tuple[str, str]]) -> None:
    """Put a notice on each new series item of ``ready`` that overlaps a series stored for its asset.

    Stored series that are items of this run (``this_input``: (evidence id, sha256) of its series items, all of
    its row groups so far) are not compared: the importer compares the items of one input. One stored under
    the id of an item of this run with other content (the item refused, or stored beside it with --supersede)
    is compared, since the importer's comparison was with the refused content. The notice goes to the report
    when the item's row is committed (:mod:`~assetgrade.ingest.commit`); an item already stored (the same
    file again) is not compared. A stored series whose blob cannot be read is named in a notice too, since
    the item could not be compared with it.
    """
    new = [p for p in ready if p.spec.kind == "series" and not p.existing]
    if not new:
        return
    stored = _stored_series(ws, sorted({p.spec.asset_id for p in new}), this_input)
    spans: dict[str, SeriesSpan | str] = {}  # evidence id: its span, or why it could not be read
    for p in new:
        span = _new_span(ws.blobs, p)  # also recorded in the attributes of an item that did not say it
        others = [o for o in stored.get(p.spec.asset_id, []) if o.evidence_id != p.supersedes]  # replaced by it
        if span is None or not others:
            continue
        hits: list[tuple[_Stored, tuple[list[str], Any, Any]]] = []
        unread: list[tuple[_Stored, str]] = []
        for o in others:
            got = _stored_span(ws.blobs, o, span, spans)
            if isinstance(got, str):
                unread.append((o, got))
            elif got is not None and (hit := span.overlap(got)) is not None:
                hits.append((o, hit))
        aid, file = p.spec.asset_id, p.spec.file or p.spec.where
        if hits:
            (first, (shared, start, end)), more = hits[0], len(hits) - 1
            also = f" (and {more} other stored series)" if more else ""
            p.notices.append(IngestNotice(file, p.spec.row, (
                f"asset {aid!r}: channel(s) {', '.join(shared)} overlap {first.named()}"
                f" ({when(start)} to {when(end)}){also}; this file is stored beside it, but the sensor evidence of an"
                " asset is read from one series (the others are flagged and left out) and a later ingest does not"
                f" replace a stored series: withdraw the wrong one (assetgrade assets withdraw {first.evidence_id}"
                f" or {p.evidence_id} --reason TEXT), give this file its own asset, or merge the two into one file"
                " and ingest that as a new asset")))
        for o, why in unread:
            p.notices.append(IngestNotice(file, p.spec.row, (
                f"asset {aid!r}: could not compare this series' times with {o.named()}: {why}")))


def _stored_span(blobs: BlobStore, o: _Stored, new: SeriesSpan, memo: dict[str, SeriesSpan | str]
                 ) -> SeriesSpan | str | None:
    """The stored series' span, why it could not be read, or None when it cannot overlap ``new`` anyway
    (its attributes name no shared channel, or another time kind): its blob is read only when they cannot tell."""
    span = attribute_span(o.attributes)
    if span is not None:
        return span
    channels, kind = o.attributes.get("channels"), o.attributes.get("time_kind")
    if isinstance(channels, list) and not new.channels & {str(c) for c in channels}:
        return None
    if kind in ("datetime", "numeric") and kind != new.kind:
        return None
    if o.evidence_id not in memo:
        if o.blob_sha is None:
            memo[o.evidence_id] = "it has no blob"
        else:
            try:
                with blobs.open(o.blob_sha) as fh:
                    memo[o.evidence_id] = parquet_span(fh)
            except (ValueError, AssetgradeError, OSError) as exc:
                memo[o.evidence_id] = f"its blob {o.blob_sha} does not read ({exc})"
    return memo[o.evidence_id]
