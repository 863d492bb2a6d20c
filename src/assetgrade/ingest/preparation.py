"""Preparing ingest items for their row group's write: checks, hashes, ids already stored, and their blobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assetgrade.errors import ConflictError, IngestError, ValidationError
from assetgrade.ingest.claims import Claim, Claims
from assetgrade.ingest.entry_changes import Changed, same_columns, settle
from assetgrade.ingest.images import marked_provenance, validate_image
from assetgrade.ingest.items import ItemSpec, LabelSpec, default_evidence_id
from assetgrade.ingest.report import IngestNotice
from assetgrade.ingest.supersede import another_asset, conflict, content_id, source_items
from assetgrade.ingest.terms import TermChecker
from assetgrade.store.blobs import BlobStore, Spool, sha256_bytes
from assetgrade.store.repository import ProvenanceInfo, check_addressable, check_storable
from assetgrade.store.schema import EVIDENCE_KINDS, ORIGINS, Evidence

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.workspace import Workspace

__all__: list[str] = []  # used by assetgrade.ingest.writer and assetgrade.ingest.commit

_STREAM_BYTES = 32 * 2**20
_TEXT_KINDS = ("log", "document")


@dataclass
class _Prepared:
    spec: ItemSpec
    evidence_id: str
    sha: str
    data: bytes | None
    labels: list[LabelSpec]
    existing: bool = False
    blob_sha: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    provenance: ProvenanceInfo | None = None
    """What the file itself says it is (an assetgrade synth mark), over the import's ``real``."""
    spool: Spool | None = None
    """A file over ``_STREAM_BYTES``: its bytes, read once into the blob store's temp area (``data`` is None)."""
    notices: list[IngestNotice] = field(default_factory=list)
    """Said in the report once the item's row is committed (a series overlapping a stored one or an earlier one of
    the same input: series_overlap)."""
    supersedes: str | None = None
    """The stored item of the same source this one replaces (``--supersede``: withdrawn when its row is written)."""

    def discard(self) -> None:
        """Remove the spooled copy (stored already, or never to be: a rejected or already stored item)."""
        if self.spool is not None:
            self.spool.discard()


def _prepare(terms: TermChecker, spec: ItemSpec, blobs: BlobStore) -> _Prepared:
    """An item's checks and hash. A file is read here, once: the bytes hashed are those validated and stored.

    Every other step reads ``data`` or the spooled copy, never the file again, so a file replaced during
    the ingest (a camera still writing it, a sync client swapping it) cannot be recorded under one sha,
    validated as other bytes and stored as a third (each was a read of its own).
    """
    if spec.kind not in EVIDENCE_KINDS:
        raise _field(IngestError(f"kind {spec.kind!r} is not one of {', '.join(EVIDENCE_KINDS)}",
                                 where=spec.where), "kind")
    if spec.provenance.origin not in ORIGINS:
        raise _field(IngestError(f"origin {spec.provenance.origin!r} is not one of {', '.join(ORIGINS)}",
                                 where=spec.where), "origin")
    if not spec.asset_id:
        raise _field(IngestError("asset id is empty", where=spec.where), "asset_id")
    try:
        check_addressable(spec.asset_id, spec.resolved_id())
    except ValidationError as exc:
        raise _field(IngestError(exc.reason, where=spec.where), exc.where or "asset_id") from None
    _storable(spec)
    if spec.kind in ("image", "series") and spec.path is None and spec.data is None:
        raise _field(IngestError(f"a {spec.kind} needs a file path", where=spec.where), "path")
    labels = [_label(terms, spec, lb) for lb in spec.labels]
    data: bytes | None = None
    spool: Spool | None = None
    if spec.path is not None:
        data, spool = _read_once(spec.path, blobs)
        if data == b"":
            raise _field(IngestError(f"file {spec.path.name} is empty", where=spec.where), "path")
        sha = spool.sha if spool is not None else sha256_bytes(data or b"")
    elif spec.data is not None:
        data = spec.data
        sha = sha256_bytes(data)
    elif spec.text is not None:
        if not spec.text.strip():
            raise _field(IngestError("text is empty", where=spec.where), "text")
        sha = sha256_bytes(spec.text.encode("utf-8"))
    else:
        raise _field(IngestError("item has neither a path nor text", where=spec.where), "path")
    return _Prepared(spec, spec.resolved_id(), sha, data, labels, attributes=dict(spec.attributes), spool=spool,
                     notices=list(spec.notices))


def _storable(spec: ItemSpec) -> None:
    """IngestError naming the field when a text of the row (its log text, a provenance field, an attribute, a
    label's annotator...) holds a NUL character (U+0000) or a lone surrogate: PostgreSQL refused the whole row
    group for it, while SQLite stored it; now both report the row and the rest of the batch goes on."""
    prov = spec.provenance
    parts: list[tuple[str, Any]] = [
        ("text", spec.text), ("asset_type", spec.asset_type), ("media_type", spec.media_type),
        ("attributes", spec.attributes), ("source", prov.source), ("generator", prov.generator),
        ("generator_params", prov.generator_params), ("parent", prov.parent_evidence_id), ("device", prov.device),
        ("notes", prov.notes)]
    for lb in spec.labels:
        parts += [(lb.field, lb.value), ("annotator", lb.annotator), ("severity", lb.severity),
                  (lb.field, None if lb.time_window is None else [str(v) for v in lb.time_window])]
    for name, part in parts:
        try:
            check_storable(part, name)
        except ValidationError as exc:
            raise _field(IngestError(exc.reason, where=spec.where), exc.where or name) from None


def _read_once(path: Path, blobs: BlobStore) -> tuple[bytes | None, Spool | None]:
    """A file's bytes from one read: in memory up to ``_STREAM_BYTES``, else copied into a spool as they are hashed.

    The size is what the read found, not an earlier ``stat`` (a file still growing is spooled, not
    held in memory whole); memory stays within ``_STREAM_BYTES`` plus a chunk.
    """
    with path.open("rb") as fh:
        head = fh.read(_STREAM_BYTES + 1)
        if len(head) <= _STREAM_BYTES:
            return head, None
        return None, blobs.spool(fh, head=head)


def _label(terms: TermChecker, spec: ItemSpec, lb: LabelSpec) -> LabelSpec:
    where = f"{spec.where}:field {lb.field}"
    try:
        if lb.kind == "grade":
            return _replace(lb, value=terms.grade(lb.value, where=where))
        if lb.kind != "defect":
            raise IngestError(f"label kind {lb.kind!r} is not grade or defect", where=where)
        value = terms.defect(lb.value, where=where)
        if lb.severity is not None:
            terms.severity(value, lb.severity, where=where)
        if lb.box is not None:
            x0, y0, x1, y1 = lb.box
            if not (x1 >= x0 and y1 >= y0):
                raise IngestError(f"box {list(lb.box)} needs x1 >= x0 and y1 >= y0", where=where)
        return _replace(lb, value=value)
    except IngestError as exc:
        raise _field(exc, lb.field) from None


def _twice(p: _Prepared, first: Claim) -> ConflictError:
    """Two rows of one input give one evidence id other content (or another asset): the later one is refused."""
    if first.asset_id != p.spec.asset_id:
        what = f"for assets {first.asset_id!r} and {p.spec.asset_id!r}, by {first.where} and by {p.spec.where}"
    else:
        what = f"with different content, by {first.where} and by {p.spec.where} (asset {p.spec.asset_id!r})"
    return ConflictError(
        f"evidence id {p.evidence_id!r} is given twice in this input {what}; the first is kept and this row"
        " refused, since which is right would be a guess: fix one of them, or give each its own evidence id"
        " (or file name)")


def _mark_existing(
    ws: Workspace, prepared: list[_Prepared], fail: Callable[[ItemSpec, Exception, str | None], None],
    *, claims: Claims, supersede: bool = False, changes: list[Changed] | None = None,
) -> list[_Prepared]:
    """The rows of ``prepared`` to write: those already stored marked ``existing``, the others refused.

    ``changes`` (a work-order export: None for other inputs) collects the rows found stored whose other columns
    differ from the stored entry's (:func:`~assetgrade.ingest.entry_changes.settle`; with ``supersede`` they
    replace it).

    ``claims`` holds each evidence id an earlier row of the same run gave (its row groups so far, kept by
    the caller): a row giving one of them other content or another asset is refused naming both rows,
    whether the first is in this group or was stored by an earlier one (which ``--supersede`` must not
    replace: the two are one input).
    """
    ids = list({p.evidence_id for p in prepared})
    with ws.session(readonly=True) as s:
        rows = s.execute(select(Evidence.id, Evidence.sha256, Evidence.asset_id, Evidence.attributes)
                         .where(Evidence.id.in_(ids))).tuples().all()
        found = {e: (sha, a) for e, sha, a, _ in rows}
        facts = {e: _facts(attrs) for e, _, _, attrs in rows}
        stored_attrs = {e: attrs for e, _, _, attrs in rows}
        claimed = {p.evidence_id: _facts(p.attributes) for p in prepared}  # ids this group's rows hold
        for p in prepared:
            if (p.spec.kind in _TEXT_KINDS and p.spec.evidence_id is None
                    and found.get(p.evidence_id) == (p.sha, p.spec.asset_id)
                    and facts[p.evidence_id] != _facts(p.attributes)):
                _next_entry(s, p, found, claimed)
        # a work-order row that is a stored entry with other values in other columns (entry_changes.py)
        moved = {p.evidence_id for p in prepared if _entry(p, changes) and found.get(p.evidence_id) ==
                 (p.sha, p.spec.asset_id) and not same_columns(stored_attrs[p.evidence_id], p.attributes)}
        renewed = {p.evidence_id: p.spec.asset_id for p in prepared if (prior := found.get(p.evidence_id)) is not None
                   and prior[1] == p.spec.asset_id and (prior[0] != p.sha or p.evidence_id in moved)}
        sources = source_items(s, renewed) if renewed else {}  # a newer export of a stored source (supersede.py)
    seen: dict[str, _Prepared] = {}
    out: list[_Prepared] = []
    # the ids as the rows give them, before --supersede turns one into a content id
    firsts = claims.first([Claim(p.evidence_id, p.sha, p.spec.asset_id, p.spec.where) for p in prepared])
    for p, claim in zip(prepared, firsts, strict=True):
        if (claim.sha, claim.asset_id) != (p.sha, p.spec.asset_id):
            fail(p.spec, _twice(p, claim), "evidence_id")
            continue
        prior = found.get(p.evidence_id)
        if prior is not None and prior[1] != p.spec.asset_id:
            fail(p.spec, another_asset(p, prior[1]), "evidence_id")
            continue
        if p.evidence_id in moved and changes is not None:  # other values in other columns
            change = settle(p, sources[p.evidence_id], supersede=supersede)
            if change is not None:
                changes.append(change)
            prior = prior if p.existing else None
        if prior is not None and prior[0] != p.sha:
            source, base = sources[p.evidence_id], p.evidence_id
            newer = content_id(base, p.sha)
            mine = source.get(newer)
            live = source.live(p.spec.asset_id)
            if mine is not None:  # stored by an earlier --supersede: skipped as the same content again
                p.evidence_id, prior = newer, (mine.sha, mine.asset_id)
            elif not supersede:
                fail(p.spec, conflict(p, live or source.get(base)), "evidence_id")
                continue
            else:
                p.evidence_id, prior = newer, None
                p.attributes["source_item"] = base
                if live is not None:
                    p.supersedes = p.attributes["supersedes"] = live.evidence_id
        if prior is not None:
            p.existing = True
        first = seen.get(p.evidence_id)
        if first is not None:  # the same content (claims refused other content): its labels join the first
            first.labels.extend(p.labels)
            continue
        seen[p.evidence_id] = p
        out.append(p)
    return out


def _entry(p: _Prepared, changes: list[Changed] | None) -> bool:
    """A work-order row (``changes`` is kept for work-order exports) whose id comes from its content."""
    return changes is not None and p.spec.kind == "log" and p.spec.evidence_id is None


def _next_entry(s: Session, p: _Prepared, found: dict[str, tuple[str, str]],
                claimed: dict[str, tuple[Any, Any]]) -> None:
    """Another entry with stored words: "replaced filter" again, on another date or at another cost.

    The n-th distinct entry with the same words takes ``#n`` on its key, as a manifest does within one
    file (:func:`~assetgrade.ingest.manifest.manifest_items`): the first id neither stored nor held by
    another row of this group with other facts, or the one that holds this very entry.
    """
    mine = _facts(p.attributes)
    for n in range(2, 100_000):
        eid = default_evidence_id(p.spec.asset_id, p.spec.kind, f"{p.spec.source_key}#{n}")
        if eid in claimed and claimed[eid] != mine:
            continue  # another entry of this group
        row = s.execute(select(Evidence.sha256, Evidence.asset_id, Evidence.attributes)
                        .where(Evidence.id == eid)).first()
        if row is not None and (row[0], row[1]) == (p.sha, p.spec.asset_id) and _facts(row[2]) != mine:
            continue  # a stored entry with the same words on another date
        p.evidence_id, claimed[eid] = eid, mine
        if row is not None:
            found[eid] = (row[0], row[1])  # stored already (skipped) or another asset's (reported)
        return


def _validate_and_store(ws: Workspace, p: _Prepared) -> None:
    spec = p.spec
    if spec.kind == "image":
        if p.spool is not None:  # the bytes read once, the very ones stored below
            with p.spool.open() as fh:
                info = validate_image(fh, where=spec.where, max_pixels=ws.config.max_image_pixels)
        else:
            info = validate_image(p.data or b"", where=spec.where, max_pixels=ws.config.max_image_pixels)
        p.attributes.update(width=info.width, height=info.height, mode=info.mode)
        p.provenance = marked_provenance(info, spec.provenance)
        spec.media_type = spec.media_type or info.media_type
        for lb in p.labels:
            if lb.box is not None and (lb.box[2] > info.width + 1 or lb.box[3] > info.height + 1):  # 1 px: rounding
                raise _field(IngestError(f"box {[float(v) for v in lb.box]} reaches beyond the image, which is "
                                         f"{info.width}x{info.height} pixels", where=spec.where),
                             "box" if lb.field == "defect" else lb.field)  # a manifest's box column, or "object 3"
    if p.data is not None:
        p.blob_sha = ws.blobs.put_bytes(p.data) if spec.kind != "log" else None
    elif p.spool is not None:
        p.blob_sha = ws.blobs.put_spool(p.spool)


def _facts(attributes: dict[str, Any] | None) -> tuple[Any, Any]:
    """What tells two log entries with the same words apart: their date and cost."""
    a = attributes or {}
    return a.get("date"), a.get("cost")


def _field(exc: IngestError, name: str) -> IngestError:
    exc.field = name  # type: ignore[attr-defined]
    return exc


def _replace(lb: LabelSpec, **kw: Any) -> LabelSpec:
    from dataclasses import replace

    return replace(lb, **kw)
