"""Build the in-memory :class:`AssetRecord` views from the store, and count what is stored (``stats``)."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetgrade.errors import StoreError
from assetgrade.store.blobs import BlobStore
from assetgrade.store.precedence import current_grade_label, grade_order, grade_rank, is_machine_label
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, Origin, SeriesRef
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.store.withdrawals import not_withdrawn, withdrawn_now

__all__ = ["RecordSource", "load_records", "parse_date", "read_series_parquet", "stats"]

_CHUNK = 500


class RecordSource(Protocol):
    """What :func:`load_records` reads from: an open ``Workspace``, or anything with its ``session`` and ``blobs``.

    A protocol, so that the store does not import the workspace that is built on it.
    """

    blobs: BlobStore

    def session(self, *, readonly: bool = False) -> AbstractContextManager[Session]:
        """A session; ``readonly=True`` for one that writes nothing."""
        ...


def read_series_parquet(data: bytes) -> Any:
    """A stored series blob (Parquet) as a pandas DataFrame indexed by time; StoreError when it does not read.

    Ingest wrote a valid Parquet file, so a blob that does not read was damaged on disk.
    """
    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError, ValueError...
        raise StoreError(f"the stored series does not read as Parquet ({type(exc).__name__}: {exc}); "
                         "the blob was damaged on disk") from exc


def parse_date(value: Any) -> datetime | None:
    """An ISO date/time string (as stored in attributes) as a datetime; None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _blob_loader(blobs: BlobStore | None, sha: str) -> Callable[[], bytes]:
    def load() -> bytes:
        if blobs is None:
            raise StoreError("no blob store: pass blobs= (or a Workspace) to load_records")
        return blobs.get_bytes(sha)

    return load


def _series_loader(blobs: BlobStore | None, sha: str) -> Callable[[], Any]:
    load = _blob_loader(blobs, sha)
    return lambda: read_series_parquet(load())


def load_records(
    source: RecordSource | Session, asset_ids: Sequence[str] | None = None, *, blobs: BlobStore | None = None
) -> list[AssetRecord]:
    """The :class:`AssetRecord` of each asset (all, or ``asset_ids`` in that order).

    ``AssetRecord.grade`` follows :mod:`assetgrade.store.precedence`: a human's grade label over a
    machine's (``pseudo``, ``model``...; an asset with machine labels only has none), a review over an
    import, the review that produced the highest asset version, else the newest import.
    ``ImageRef.boxes`` come from defect labels with boxes on that image. Withdrawn evidence
    (:mod:`assetgrade.store.withdrawals`) is left out, and with it the boxes on it. Pass a Workspace, or a
    Session plus ``blobs=`` so the image and series loaders can read the blob store.
    """
    if isinstance(source, Session):
        return _load(source, asset_ids, blobs)
    if not hasattr(source, "session") or not hasattr(source, "blobs"):
        from assetgrade.errors import ValidationError

        raise ValidationError(f"expected an open Workspace (Workspace.open(path)) or a Session, got "
                              f"{type(source).__name__} {source!r:.60}", where="load_records")
    if isinstance(asset_ids, str):
        from assetgrade.errors import ValidationError

        raise ValidationError(f"asset_ids must be a list of ids, got the string {asset_ids!r}", where="load_records")
    with source.session(readonly=True) as session:
        return _load(session, asset_ids, blobs or source.blobs)


def _load(session: Session, asset_ids: Sequence[str] | None, blobs: BlobStore | None) -> list[AssetRecord]:
    if asset_ids is None:
        assets = list(session.execute(select(Asset).order_by(Asset.id)).scalars())
    else:
        found: dict[str, Asset] = {}
        for chunk in _chunks(list(asset_ids)):
            found.update((a.id, a) for a in session.execute(select(Asset).where(Asset.id.in_(chunk))).scalars())
        missing = [a for a in asset_ids if a not in found]
        if missing:
            from assetgrade.errors import NotFoundError

            raise NotFoundError(f"assets not found: {', '.join(missing[:10])}")
        assets = [found[a] for a in asset_ids]
    ids = [a.id for a in assets]
    evidence: dict[str, list[tuple[Evidence, Provenance | None]]] = defaultdict(list)
    labels: dict[str, list[Label]] = defaultdict(list)
    versions: dict[str, int] = {}
    for chunk in _chunks(ids):
        q = (select(Evidence, Provenance).outerjoin(Provenance, Provenance.evidence_id == Evidence.id)
             .where(Evidence.asset_id.in_(chunk), not_withdrawn()).order_by(Evidence.id))
        for ev, prov in session.execute(q).tuples():
            evidence[ev.asset_id].append((ev, prov))
        for lb in session.execute(select(Label).where(Label.asset_id.in_(chunk))).scalars():
            labels[lb.asset_id].append(lb)
        versions.update(grade_order(session, chunk))
    return [_record(a, evidence[a.id], labels[a.id], versions, blobs) for a in assets]


def _record(asset: Asset, items: list[tuple[Evidence, Provenance | None]], labels: list[Label],
            versions: dict[str, int], blobs: BlobStore | None) -> AssetRecord:
    boxes: dict[str, list[tuple[str, tuple[float, float, float, float]]]] = defaultdict(list)
    for lb in labels:
        if lb.kind == "defect" and lb.box is not None and lb.evidence_id is not None:
            x0, y0, x1, y1 = (float(v) for v in lb.box)
            boxes[lb.evidence_id].append((lb.value, (x0, y0, x1, y1)))
    images: list[ImageRef] = []
    logs: list[LogEntry] = []
    series: list[SeriesRef] = []
    for ev, prov in items:
        origin: Origin = prov.origin if prov is not None else "real"  # type: ignore[assignment]
        attrs = ev.attributes or {}
        if ev.kind == "image" and ev.blob_sha:
            images.append(ImageRef(ev.id, ev.sha256, _blob_loader(blobs, ev.blob_sha), origin,
                                   tuple(sorted(boxes.get(ev.id, [])))))
        elif ev.kind in ("log", "document") and ev.text is not None:
            cost = attrs.get("cost")
            logs.append(LogEntry(ev.id, ev.text, parse_date(attrs.get("date")),
                                 None if cost is None else float(cost), origin, dict(attrs)))
        elif ev.kind == "series" and ev.blob_sha:
            rate = attrs.get("sampling_rate_hz")
            series.append(SeriesRef(ev.id, ev.sha256, _series_loader(blobs, ev.blob_sha),
                                    None if rate is None else float(rate), dict(attrs.get("units", {})), origin))
    logs.sort(key=lambda e: (e.date is None, e.date or datetime.min, e.evidence_id))
    grade = current_grade_label(labels, versions)
    return AssetRecord(asset_id=asset.id, asset_type=asset.asset_type, attributes=dict(asset.attributes or {}),
                       images=tuple(images), logs=tuple(logs), series=tuple(series),
                       grade=None if grade is None else grade.value, value=asset.value)


def stats(session: Session) -> dict[str, dict[str, int]]:
    """Counts per asset type, grade (``AssetRecord.grade``), defect label, source class, evidence modality, origin.

    ``class`` counts the ``class`` attribute importers record (the folder name of a
    folder-per-class or NEU-style tree). Withdrawn evidence is counted in ``totals.withdrawn`` only:
    not in ``totals.evidence``, the class, modality and origin counts, nor are the defect labels on it
    (what :func:`load_records` gives the models).
    """
    def grouped(col: Any, *where: Any) -> dict[str, int]:
        q = select(col, func.count()).group_by(col)
        for w in where:
            q = q.where(w)
        return {str(k): int(n) for k, n in session.execute(q).tuples()}

    cls_col = Evidence.attributes["class"].as_string()
    kept = not_withdrawn()
    on_kept = Label.evidence_id.is_(None) | ~withdrawn_now(Label.evidence_id)
    asset_grade: dict[str, int] = Counter()
    for _aid, value in _latest_grades(session):
        asset_grade[value] += 1
    totals = {
        "assets": int(session.scalar(select(func.count()).select_from(Asset)) or 0),
        "evidence": int(session.scalar(select(func.count()).select_from(Evidence).where(kept)) or 0),
        "labels": int(session.scalar(select(func.count()).select_from(Label).where(on_kept)) or 0),
        "withdrawn": int(session.scalar(select(func.count()).select_from(Evidence).where(~kept)) or 0),
    }
    origin = (select(Provenance.origin, func.count()).join(Evidence, Evidence.id == Provenance.evidence_id)
              .where(kept).group_by(Provenance.origin))
    return {
        "totals": totals,
        "asset_type": grouped(Asset.asset_type),
        "grade": dict(sorted(asset_grade.items())),
        "defect": grouped(Label.value, Label.kind == "defect", on_kept),
        "class": grouped(cls_col, cls_col.is_not(None), kept),
        "modality": grouped(Evidence.kind, kept),
        "origin": {str(k): int(n) for k, n in session.execute(origin).tuples()},
    }


def _latest_grades(session: Session) -> list[tuple[str, str]]:
    versions = grade_order(session)
    rows = session.execute(
        select(Label.asset_id, Label.value, Label.source, Label.annotator, Label.created_at, Label.id)
        .where(Label.kind == "grade")
    ).tuples()
    best: dict[str, tuple[tuple[bool, bool, int, datetime, str], str]] = {}
    for aid, value, src, annotator, created, lid in rows:
        if is_machine_label(src, annotator):
            continue
        key = grade_rank(src, created, lid, versions)
        if aid not in best or key > best[aid][0]:
            best[aid] = (key, value)
    return [(aid, v) for aid, (_k, v) in best.items()]
