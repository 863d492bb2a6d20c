"""One row group's write in one transaction: its assets, evidence, provenance and labels, and one audit event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from assetgrade.errors import ConflictError
from assetgrade.ingest.items import LabelSpec
from assetgrade.ingest.old_frame import old_frame_ids, replace_old_frame
from assetgrade.ingest.preparation import _Prepared
from assetgrade.ingest.report import IngestNotice, IngestReport, RowError
from assetgrade.ingest.supersede import Superseded, another_asset, conflict, source_items
from assetgrade.store.audit import append_event
from assetgrade.store.repository import bump_versions, label_id_for
from assetgrade.store.requests import close_label_requests_labelled
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.store.withdrawals import withdraw_in_turn, withdrawals_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.workspace import Workspace

__all__: list[str] = []  # used by assetgrade.ingest.writer


def _said(s: Session, notices: list[IngestNotice]) -> list[IngestNotice]:
    """The notices to say: those whose ``requires`` is None or names an asset holding evidence of that content now
    (this batch's rows are flushed), so an overlap with an earlier series of the input that the writer refused is
    not said. Content, not the evidence id: --supersede stores changed content under a new id."""
    needs = {n.requires for n in notices if n.requires is not None}
    if not needs:
        return notices
    held = s.execute(select(Evidence.asset_id, Evidence.sha256).where(Evidence.sha256.in_({c for _, c in needs})))
    have = set(held.tuples())
    return [n for n in notices if n.requires is None or n.requires in have]


def _severity_clashes(label_rows: list[tuple[_Prepared, LabelSpec, str]],
                      stored: dict[str, str | None]) -> dict[str, str]:
    """Evidence ids whose rows give a label another severity than it has (stored, or an earlier row of the group).

    A label's id leaves its severity out, so without this check a changed severity would be skipped
    as "already stored" without a word; it is other content under the same id, a conflict.
    """
    seen = dict(stored)
    out: dict[str, str] = {}
    for p, lb, lid in label_rows:
        if lid not in seen:
            seen[lid] = lb.severity
        elif seen[lid] != lb.severity and p.evidence_id not in out:
            label = f"{lb.kind} label {lb.value!r} (annotator {lb.annotator!r})"
            out[p.evidence_id] = (f"{label} is stored with severity {seen[lid]!r}, this row says {lb.severity!r}"
                                  if lid in stored else
                                  f"{label} is given twice for this item, with severity {seen[lid]!r} and"
                                  f" {lb.severity!r}")
    return out


def _write(ws: Workspace, rep: IngestReport, ready: list[_Prepared], *, actor: str,
           defer: list[_Prepared] | None = None) -> None:
    """Write ``ready`` in one transaction; only once it is committed, count it into ``rep``.

    A row whose parent evidence is not stored is put in ``defer`` (untouched, for a later try,
    since its parent may be a later row of the input) or, with ``defer`` None, rejected.
    """
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
    old_frame = old_frame_ids(label_rows)  # labels an earlier version of the importer stored in another frame
    added = {"assets": 0, "evidence": 0, "labels": 0}
    skipped = 0
    marked: list[IngestNotice] = []
    superseded: list[Superseded] = []
    errors: list[RowError] = []
    deferred: list[_Prepared] = []
    with ws.session() as s:
        assets = dict(s.execute(select(Asset.id, Asset.asset_type).where(Asset.id.in_(asset_ids))).tuples().all())
        held = s.execute(select(Evidence.id, Evidence.sha256, Evidence.asset_id).where(Evidence.id.in_(ev_ids)))
        stored = {eid: (sha, aid) for eid, sha, aid in held.tuples()}
        # stored since the rows were prepared by another writer (a race): refused as preparation would have
        raced = {p.evidence_id: p.spec.asset_id for p in ready
                 if p.evidence_id in stored and stored[p.evidence_id] != (p.sha, p.spec.asset_id)}
        raced_items = source_items(s, raced) if raced else {}
        gone = withdrawals_of(s, stored) if stored else {}
        have_labels = dict(s.execute(select(Label.id, Label.severity).where(
            Label.id.in_([lid for _, _, lid in label_rows]))).tuples().all())
        clash = _severity_clashes(label_rows, have_labels)
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
            if p.evidence_id in clash:
                errors.append(RowError.from_exception(ConflictError(clash[p.evidence_id]), spec.file or spec.where,
                                                      spec.row, "severity"))
                bad.add(p.evidence_id)
                continue
            parent = spec.provenance.parent_evidence_id
            if parent and parent not in new_evidence and s.get(Evidence, parent) is None:
                bad.add(p.evidence_id)
                if defer is not None:
                    deferred.append(p)
                else:
                    errors.append(RowError(spec.file or spec.where, spec.row, "parent",
                                           f"parent evidence {parent!r} is not stored, and no row of this input "
                                           "added it (ingest it first)"))
                continue
            if p.evidence_id in raced:
                _, aid = stored[p.evidence_id]
                exc = (another_asset(p, aid) if aid != spec.asset_id else
                       conflict(p, raced_items[p.evidence_id].get(p.evidence_id)))
                errors.append(RowError.from_exception(exc, spec.file or spec.where, spec.row, "evidence_id"))
                bad.add(p.evidence_id)
                continue
            if p.evidence_id in gone:  # neither used again nor dropped without a word: nothing of the row is stored
                marked.append(IngestNotice(spec.file or rep.source, spec.row,
                                           f"{p.evidence_id}: the same content was {gone[p.evidence_id]}; "
                                           "stored nothing (its labels neither)"))
                bad.add(p.evidence_id)
                skipped += 1
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
            marked.extend(p.notices)
        replaced, reframed = replace_old_frame(s, old_frame, kind=rep.kind, skip=bad) if old_frame else ([], [])
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
        if rows or typed or replaced:
            s.add_all(rows)
            s.flush()
            # --supersede: the replaced items are withdrawn with the new ones' write, before the versions are raised,
            # in one bulk operation that stores what a withdrawal per row, in row order, would
            replacing = [(p, p.supersedes, p.spec.file or p.spec.where or rep.source) for p in ready
                         if p.supersedes is not None and p.evidence_id in new_evidence]
            if replacing:
                asked = [(old, f"superseded by {p.evidence_id} from {file}") for p, old, file in replacing]
                done = withdraw_in_turn(s, asked, by=actor, actor=actor)
                ended = {(w.evidence_id, w.reason) for w in done.withdrawn}  # an item given twice: the first row's
                for (p, old, file), key in zip(replacing, asked, strict=True):
                    if key in ended:
                        ended.discard(key)
                        superseded.append(Superseded(old, p.evidence_id, file, p.spec.row))
            # new evidence of a stored asset makes a review against its old version stale (store.md)
            grown = {p.spec.asset_id for p in ready if p.evidence_id in new_evidence}
            versions = bump_versions(s, grown - set(created))
            versions.update((aid, 1) for aid in grown & set(created))  # new assets stay at version 1
            payload: dict[str, Any] = {"evidence": new_evidence, "labels": new_labels, "assets": new_assets,
                                       "asset_versions": dict(sorted(versions.items()))}
            if typed:
                payload["asset_types"] = typed
            if replaced:  # deleted in this transaction: the event keeps what they held (old_frame.py)
                payload["labels_replaced"] = replaced
            append_event(s, actor=actor, action="ingest.rows", entity="ingest_batch",
                         entity_id=rep.batch_id, payload=payload)
            # an imported grade answers the asset's label request as a review's would (same transaction)
            close_label_requests_labelled(s, graded, actor=actor, ingest_batch_id=rep.batch_id)
        marked = _said(s, marked)
    # committed: only now count it
    for k, v in added.items():
        rep.added[k] += v
    rep.skipped_existing += skipped
    rep.superseded.extend(superseded)
    rep.notices.extend(marked)
    rep.notices.extend(reframed)
    rep.errors.extend(errors)
    if defer is not None:
        defer.extend(deferred)
