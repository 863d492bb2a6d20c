"""The ingest writer: validates items, writes blobs first, then each row group's rows in one audited transaction.

Order of work per row group (so a crash or Ctrl-C at any point leaves a consistent store and
a resumable ingest): (1) hash each item and skip those already stored with the same content
before any decoding; (2) validate and write the new blobs (an orphan blob is harmless);
(3) in one transaction re-check what exists, insert assets, evidence, provenance and labels
in bulk and append one audit event. A row that fails any step is reported and skipped; a
unique-key race with another process rolls the group back and retries it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from assetgrade.errors import AssetgradeError, ConflictError, IngestError, StoreError, ValidationError
from assetgrade.ingest.batches import hold_ctrl_c, mark_lost_batches, row_groups
from assetgrade.ingest.images import marked_provenance, validate_image
from assetgrade.ingest.items import ItemSpec, LabelSpec, default_evidence_id
from assetgrade.ingest.report import IngestNotice, IngestReport, RowError
from assetgrade.ingest.terms import TermChecker
from assetgrade.store.audit import append_event
from assetgrade.store.blobs import sha256_bytes, sha256_file
from assetgrade.store.liveness import this_process
from assetgrade.store.repository import ProvenanceInfo, bump_versions, check_addressable, label_id_for
from assetgrade.store.requests import close_label_requests_labelled
from assetgrade.store.schema import EVIDENCE_KINDS, ORIGINS, Asset, Evidence, IngestBatch, Label, Provenance, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.workspace import Workspace

__all__ = ["Ingestor"]

_Item = ItemSpec | RowError | IngestNotice

_STREAM_BYTES = 32 * 2**20
_RETRIES = 5


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


class Ingestor:
    """Takes :class:`ItemSpec` items (or RowErrors from a parser) into a workspace in row groups.

    Parameters
    ----------
    ws
        The workspace written to.
    kind, source
        What kind of import this is (``manifest``, ``voc``...) and from where, for the batch record.
    group_size
        Items per transaction (default: the workspace's ``ingest_group_size``).
    terms
        Ontology term checker (default: the workspace's ontology).
    on_progress
        Called with the number of input items finished after each row group.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assetgrade.workspace import Workspace
    >>> ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws")
    >>> item = ItemSpec(where="doc", asset_id="pump-7", kind="log", text="bearing noisy", source_key="k1")
    >>> Ingestor(ws, kind="doc", source="doctest").run([item]).added["evidence"]
    1
    >>> Ingestor(ws, kind="doc", source="doctest").run([item]).skipped_existing
    1
    """

    def __init__(
        self, ws: Workspace, *, kind: str, source: str, group_size: int | None = None,
        terms: TermChecker | None = None, actor: str = "ingest",
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.ws = ws
        self.kind = kind
        self.source = source
        if group_size is not None and group_size < 1:
            raise ValidationError(f"group size must be at least 1, not {group_size}", where="--group-size")
        self.group_size = group_size or ws.config.ingest_group_size
        self.terms = terms
        self.actor = actor
        self.on_progress = on_progress
        self.report = IngestReport(batch_id=utcnow().strftime("%Y%m%dT%H%M%S") + "-" + _rand(), kind=kind,
                                   source=source)

    # -- driver -----------------------------------------------------------------------------
    def run(self, items: Iterable[_Item]) -> IngestReport:
        """Ingest everything; returns the report (also written to the workspace's ``reports/``)."""
        if self.terms is None:
            self.terms = TermChecker(self.ws.ontology())
        t0 = time.perf_counter()
        rep = self.report
        with self.ws.session() as s:
            mark_lost_batches(s, self.actor)
            s.add(IngestBatch(id=rep.batch_id, kind=self.kind, source=self.source, status="running",
                              counts={"owner": this_process()}))
            append_event(s, actor=self.actor, action="ingest.start", entity="ingest_batch",
                         entity_id=rep.batch_id, payload={"kind": self.kind, "source": self.source})
        try:
            for group in row_groups(items, self.group_size):
                specs: list[ItemSpec] = []
                rows = 0
                for it in group:
                    if isinstance(it, IngestNotice):
                        rep.notices.append(it)
                        continue
                    rows += 1
                    if isinstance(it, RowError):
                        rep.errors.append(it)
                    else:
                        specs.append(it)
                if specs:
                    self._group(specs)
                if self.on_progress is not None:
                    self.on_progress(rows)
            rep.status = "done" if rep.ok else "done_with_errors"
        except KeyboardInterrupt:
            rep.status = "interrupted"
            raise
        except BaseException:
            rep.status = "failed"
            raise
        finally:
            rep.wall_s = time.perf_counter() - t0
            self._finish()
        return rep

    def _finish(self) -> None:
        rep = self.report
        try:
            with self.ws.session() as s:
                batch = s.get(IngestBatch, rep.batch_id)
                if batch is not None:
                    batch.finished_at = utcnow()
                    batch.status = rep.status
                    batch.counts = {**rep.added, "skipped_existing": rep.skipped_existing,
                                    "errors": len(rep.errors)}
                append_event(s, actor=self.actor, action="ingest.finish", entity="ingest_batch",
                             entity_id=rep.batch_id, payload={"status": rep.status, **rep.added,
                                                              "skipped_existing": rep.skipped_existing,
                                                              "errors": len(rep.errors)})
        except (OperationalError, KeyboardInterrupt):  # best effort: the rows themselves are consistent
            pass
        rep.write(self.ws.reports_dir)

    # -- one row group ----------------------------------------------------------------------
    def _fail(self, spec: ItemSpec, exc: Exception, fieldname: str | None = None) -> None:
        self.report.errors.append(RowError.from_exception(exc, spec.file or spec.where, spec.row, fieldname))

    def _group(self, specs: list[ItemSpec]) -> None:
        prepared: list[_Prepared] = []
        for spec in specs:
            try:
                prepared.append(self._prepare(spec))
            except StoreError:  # the store, not the row: stop the run (rows already written stay whole)
                raise
            except AssetgradeError as exc:
                self._fail(spec, exc, getattr(exc, "field", None))
            except OSError as exc:
                self._fail(spec, IngestError(f"cannot read: {exc}"), "path")
        prepared = self._mark_existing(prepared)
        ready: list[_Prepared] = []
        for p in prepared:
            try:
                if not p.existing:
                    self._validate_and_store(p)
                ready.append(p)
            except StoreError:
                raise
            except AssetgradeError as exc:
                self._fail(p.spec, exc, getattr(exc, "field", "path"))
            except OSError as exc:
                self._fail(p.spec, IngestError(f"cannot read: {exc}"), "path")
        for attempt in range(_RETRIES):
            try:
                with hold_ctrl_c():  # a group the store commits is always counted in the report
                    self._write(ready)
                return
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _prepare(self, spec: ItemSpec) -> _Prepared:
        assert self.terms is not None
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
        if spec.kind in ("image", "series") and spec.path is None and spec.data is None:
            raise _field(IngestError(f"a {spec.kind} needs a file path", where=spec.where), "path")
        labels = [self._label(spec, lb) for lb in spec.labels]
        data: bytes | None = None
        if spec.path is not None:
            size = spec.path.stat().st_size
            if size == 0:
                raise _field(IngestError(f"file {spec.path.name} is empty", where=spec.where), "path")
            if size > _STREAM_BYTES:
                sha = sha256_file(spec.path)
            else:
                data = spec.path.read_bytes()
                sha = sha256_bytes(data)
        elif spec.data is not None:
            data = spec.data
            sha = sha256_bytes(data)
        elif spec.text is not None:
            if not spec.text.strip():
                raise _field(IngestError("text is empty", where=spec.where), "text")
            sha = sha256_bytes(spec.text.encode("utf-8"))
        else:
            raise _field(IngestError("item has neither a path nor text", where=spec.where), "path")
        return _Prepared(spec, spec.resolved_id(), sha, data, labels, attributes=dict(spec.attributes))

    def _label(self, spec: ItemSpec, lb: LabelSpec) -> LabelSpec:
        assert self.terms is not None
        where = f"{spec.where}:field {lb.field}"
        try:
            if lb.kind == "grade":
                return _replace(lb, value=self.terms.grade(lb.value, where=where))
            if lb.kind != "defect":
                raise IngestError(f"label kind {lb.kind!r} is not grade or defect", where=where)
            value = self.terms.defect(lb.value, where=where)
            if lb.severity is not None:
                self.terms.severity(value, lb.severity, where=where)
            if lb.box is not None:
                x0, y0, x1, y1 = lb.box
                if not (x1 >= x0 and y1 >= y0):
                    raise IngestError(f"box {list(lb.box)} needs x1 >= x0 and y1 >= y0", where=where)
            return _replace(lb, value=value)
        except IngestError as exc:
            raise _field(exc, lb.field) from None

    def _mark_existing(self, prepared: list[_Prepared]) -> list[_Prepared]:
        ids = list({p.evidence_id for p in prepared})
        with self.ws.session(readonly=True) as s:
            rows = s.execute(select(Evidence.id, Evidence.sha256, Evidence.asset_id, Evidence.attributes)
                             .where(Evidence.id.in_(ids))).tuples().all()
            found = {e: (sha, a) for e, sha, a, _ in rows}
            facts = {e: _facts(attrs) for e, _, _, attrs in rows}
            claimed = {p.evidence_id: _facts(p.attributes) for p in prepared}  # ids this group's rows hold
            for p in prepared:
                if (p.spec.kind in _TEXT_KINDS and p.spec.evidence_id is None
                        and found.get(p.evidence_id) == (p.sha, p.spec.asset_id)
                        and facts[p.evidence_id] != _facts(p.attributes)):
                    self._next_entry(s, p, found, claimed)
        seen: dict[str, _Prepared] = {}
        out: list[_Prepared] = []
        for p in prepared:
            prior = found.get(p.evidence_id)
            if prior is not None:
                if prior != (p.sha, p.spec.asset_id):
                    self._fail(p.spec, _conflict(p, "is stored with other content or another asset"), "evidence_id")
                    continue
                p.existing = True
            first = seen.get(p.evidence_id)
            if first is not None:
                if first.spec.asset_id != p.spec.asset_id:
                    self._fail(p.spec, _conflict(p, f"appears twice in this input, for assets "
                                                    f"{first.spec.asset_id!r} and {p.spec.asset_id!r}"),
                               "evidence_id")
                    continue
                if first.sha != p.sha:
                    self._fail(p.spec, _conflict(p, "appears twice in this input with different content"),
                               "evidence_id")
                    continue
                first.labels.extend(p.labels)  # another row about the same item: its labels join the first
                continue
            seen[p.evidence_id] = p
            out.append(p)
        return out

    def _next_entry(self, s: Session, p: _Prepared, found: dict[str, tuple[str, str]],
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

    def _validate_and_store(self, p: _Prepared) -> None:
        spec = p.spec
        if spec.kind == "image":
            data = p.data if p.data is not None else (spec.path.read_bytes() if spec.path else b"")
            info = validate_image(data, where=spec.where, max_pixels=self.ws.config.max_image_pixels)
            p.attributes.update(width=info.width, height=info.height, mode=info.mode)
            p.provenance = marked_provenance(info, spec.provenance)
            spec.media_type = spec.media_type or info.media_type
            for lb in p.labels:
                if lb.box is not None and (lb.box[2] > info.width + 1 or lb.box[3] > info.height + 1):  # 1 px: rounding
                    raise _field(IngestError(f"box {[float(v) for v in lb.box]} reaches beyond the image, which is "
                                             f"{info.width}x{info.height} pixels", where=spec.where),
                                 "box" if lb.field == "defect" else lb.field)  # a manifest's box column, or "object 3"
        if p.data is not None:
            p.blob_sha = self.ws.blobs.put_bytes(p.data) if spec.kind != "log" else None
        elif spec.path is not None:
            p.blob_sha = self.ws.blobs.put_file(spec.path)

    def _write(self, ready: list[_Prepared]) -> None:
        rep = self.report
        asset_ids = list({p.spec.asset_id for p in ready})
        ev_ids = [p.evidence_id for p in ready]
        label_rows: list[tuple[_Prepared, LabelSpec, str]] = []
        for p in ready:
            for lb in p.labels:
                ev = p.evidence_id if lb.kind == "defect" else None
                box = None if lb.box is None else [float(v) for v in lb.box]
                span = None if lb.text_span is None else list(lb.text_span)
                window = None if lb.time_window is None else [str(v) for v in lb.time_window]
                lid = label_id_for(p.spec.asset_id, ev, lb.annotator, lb.kind, lb.value, box, span, window)
                label_rows.append((p, lb, lid))
        added = {"assets": 0, "evidence": 0, "labels": 0}
        skipped = 0
        marked: list[IngestNotice] = []
        errors: list[RowError] = []
        with self.ws.session() as s:
            assets = dict(s.execute(select(Asset.id, Asset.asset_type).where(Asset.id.in_(asset_ids))).tuples().all())
            stored = dict(s.execute(select(Evidence.id, Evidence.sha256).where(Evidence.id.in_(ev_ids))).tuples().all())
            have_labels = set(s.execute(select(Label.id).where(
                Label.id.in_([lid for _, _, lid in label_rows]))).scalars())
            bad: set[str] = set()
            new_evidence: dict[str, str] = {}
            new_assets: list[str] = []
            rows: list[Any] = []
            created: dict[str, Asset] = {}
            typed: dict[str, str] = {}  # stored assets of type "unknown" that a row now gives a type
            for p in ready:
                spec = p.spec
                atype = assets.get(spec.asset_id)
                if atype is not None and spec.asset_type and atype not in (spec.asset_type, "unknown"):
                    errors.append(RowError.from_exception(ConflictError(
                        f"asset {spec.asset_id!r} is stored with type {atype!r}, this row says"
                        f" {spec.asset_type!r}"), spec.file or spec.where, spec.row, "asset_type"))
                    bad.add(p.evidence_id)
                    continue
                parent = spec.provenance.parent_evidence_id
                if parent and parent not in new_evidence and s.get(Evidence, parent) is None:
                    errors.append(RowError(spec.file or spec.where, spec.row, "parent",
                                           f"parent evidence {parent!r} is not stored (ingest it first)"))
                    bad.add(p.evidence_id)
                    continue
                if p.evidence_id in stored and stored[p.evidence_id] != p.sha:
                    errors.append(RowError.from_exception(_conflict(p, "is stored with other content"),
                                                          spec.file or spec.where, spec.row, "evidence_id"))
                    bad.add(p.evidence_id)
                    continue
                # the row is good: only now may it create its asset (a rejected row leaves nothing behind)
                if atype is None:
                    assets[spec.asset_id] = spec.asset_type or "unknown"
                    created[spec.asset_id] = Asset(id=spec.asset_id, asset_type=spec.asset_type or "unknown",
                                                   attributes={}, version=1)
                    rows.append(created[spec.asset_id])
                    new_assets.append(spec.asset_id)
                    added["assets"] += 1
                elif atype == "unknown" and spec.asset_type:  # a type given by a later row or a later ingest
                    assets[spec.asset_id] = spec.asset_type
                    if spec.asset_id in created:
                        created[spec.asset_id].asset_type = spec.asset_type
                    else:
                        typed[spec.asset_id] = spec.asset_type
                if p.evidence_id in stored:
                    skipped += 1
                    continue
                new_evidence[p.evidence_id] = p.sha
                rows.append(Evidence(id=p.evidence_id, asset_id=spec.asset_id, kind=spec.kind, sha256=p.sha,
                                     blob_sha=p.blob_sha, text=spec.text, media_type=spec.media_type,
                                     attributes=p.attributes))
                pv = p.provenance or spec.provenance
                if p.provenance is not None:
                    marked.append(IngestNotice(spec.file or rep.source, spec.row,
                                               f"{p.evidence_id}: the file carries assetgrade's synthetic mark "
                                               f"(generator {pv.generator}); stored as {pv.origin}, not real"))
                rows.append(Provenance(evidence_id=p.evidence_id, source=pv.source, origin=pv.origin,
                                       generator=pv.generator, generator_params=pv.generator_params,
                                       parent_evidence_id=parent, capture_time=pv.capture_time, device=pv.device,
                                       sha256=p.sha, ingest_batch_id=rep.batch_id, notes=pv.notes))
                added["evidence"] += 1
            new_labels: list[str] = []
            for p, lb, lid in label_rows:
                if p.evidence_id in bad or lid in have_labels or lid in new_labels:
                    continue
                new_labels.append(lid)
                rows.append(Label(id=lid, asset_id=p.spec.asset_id,
                                  evidence_id=p.evidence_id if lb.kind == "defect" else None,
                                  annotator=lb.annotator, kind=lb.kind, value=lb.value, severity=lb.severity,
                                  box=None if lb.box is None else [float(v) for v in lb.box],
                                  text_span=None if lb.text_span is None else list(lb.text_span),
                                  time_window=None if lb.time_window is None else [str(v) for v in lb.time_window],
                                  source="import"))
            added["labels"] = len(new_labels)
            fresh = set(new_labels)
            graded = {p.spec.asset_id: lid for p, lb, lid in label_rows if lid in fresh and lb.kind == "grade"}
            for aid, atype in typed.items():
                s.execute(update(Asset).where(Asset.id == aid, Asset.asset_type == "unknown").values(asset_type=atype))
            if rows or typed:
                s.add_all(rows)
                s.flush()
                # new evidence of a stored asset makes a review against its old version stale (store.md)
                bump_versions(s, {p.spec.asset_id for p in ready if p.evidence_id in new_evidence} - set(created))
                payload: dict[str, Any] = {"evidence": new_evidence, "labels": new_labels, "assets": new_assets}
                if typed:
                    payload["asset_types"] = typed
                append_event(s, actor=self.actor, action="ingest.rows", entity="ingest_batch",
                             entity_id=rep.batch_id, payload=payload)
                # an imported grade answers the asset's label request as a review's would (same transaction)
                close_label_requests_labelled(s, graded, actor=self.actor, ingest_batch_id=rep.batch_id)
        # committed: only now count it
        for k, v in added.items():
            rep.added[k] += v
        rep.skipped_existing += skipped
        rep.notices.extend(marked)
        rep.errors.extend(errors)


_TEXT_KINDS = ("log", "document")


def _facts(attributes: dict[str, Any] | None) -> tuple[Any, Any]:
    """What tells two log entries with the same words apart: their date and cost."""
    a = attributes or {}
    return a.get("date"), a.get("cost")


def _field(exc: IngestError, name: str) -> IngestError:
    exc.field = name  # type: ignore[attr-defined]
    return exc


def _conflict(p: _Prepared, what: str) -> ConflictError:
    return ConflictError(f"evidence id {p.evidence_id!r} {what}")


def _replace(lb: LabelSpec, **kw: Any) -> LabelSpec:
    from dataclasses import replace

    return replace(lb, **kw)


def _rand() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
