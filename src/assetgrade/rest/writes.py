"""The service's writes (reviews, image uploads, telemetry, assets), shared by the REST API and the web UI.

Every write runs in one transaction together with its audit event (actor = the token's name).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, PermissionDeniedError, ValidationError
from assetgrade.rest.auth import Principal
from assetgrade.rest.queries import last_change
from assetgrade.rest.schemas import (
    AssetIn,
    ReviewIn,
    TelemetryIn,
    TelemetryOut,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawnOut,
)
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.precedence import produced_version
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, get_asset
from assetgrade.store.results import add_review, latest_prediction, latest_prediction_id
from assetgrade.store.schema import Asset, AuditEvent, Evidence, Prediction, Provenance, Review
from assetgrade.store.withdrawals import withdraw_evidence, withdrawals_of

if TYPE_CHECKING:
    from assetgrade.ontology import Ontology
    from assetgrade.rest.deps import AppState
    from assetgrade.workspace import Workspace

__all__ = ["ReviewWrite", "create_asset", "grade_now", "post_telemetry", "submit_review", "upload_image",
           "withdraw_item"]


def _validate_review(ws_ontology: Ontology, body: ReviewIn) -> None:
    if body.grade is not None:
        ws_ontology.grades.index(body.grade)
    for i, d in enumerate(body.defects):
        if d.id not in ws_ontology.defects:
            raise ValidationError(f"unknown defect {d.id!r}; known: {sorted(ws_ontology.defects)}",
                                  where=f"defects[{i}].id")
        sev = ws_ontology.defects[d.id].severities
        if d.severity is not None and sev and d.severity not in sev:
            raise ValidationError(f"severity {d.severity!r} is not one of {list(sev)}", where=f"defects[{i}].severity")


class ReviewWrite(NamedTuple):
    """What :func:`submit_review` did: the review, the asset version after it, and whether it was a replay."""

    review: Review
    version: int
    replayed: bool = False
    """True when the same reviewer had already stored this review against this version (a retry after a
    lost response): the stored review is answered and nothing is written."""


def _replayed(s: Session, who: Principal, asset_id: str, body: ReviewIn, current: int) -> Review | None:
    """The reviewer's stored review that ``body`` repeats, when nothing changed the asset since it, else None.

    It must be the write that took the asset from ``body.expected_version`` to ``current``: the review
    whose ``review.add`` event records ``current`` as the version it produced (found by that version, not
    by ``created_at``, which is the clock of whichever server wrote it), by this reviewer, with the same
    grade, defects, note and (when the body names one) prediction.
    """
    if current != body.expected_version + 1:
        return None
    version, event = produced_version()
    last = s.execute(select(Review).join(AuditEvent, event)
                     .where(Review.asset_id == asset_id, Review.reviewer == who.name, version == current)
                     .limit(1)).scalar()  # one at most: each version of an asset is produced by one write
    if last is None:
        return None
    same = (
        last.grade == body.grade and last.note == body.note
        and list(last.defects or []) == [d.model_dump(exclude_none=True) for d in body.defects]
        and body.based_on_prediction_id in (None, last.based_on_prediction_id)
    )
    return last if same else None


def submit_review(ws: Workspace, ontology: Ontology, who: Principal, asset_id: str, body: ReviewIn
                  ) -> ReviewWrite:
    """Store a review made against ``body.expected_version``; returns the review and the new asset version.

    A stale version raises ConflictError naming who reviewed the asset since and when; nothing
    is written then. The same review sent again by the same reviewer against the same version,
    with nothing else changed since (a retry after a lost response), answers the stored review
    (``replayed``) instead of a conflict naming the reviewer themselves.
    """
    _validate_review(ontology, body)
    try:
        with ws.session() as s:
            get_asset(s, asset_id)
            for i, d in enumerate(body.defects):
                if d.evidence_id is not None:
                    ev = s.get(Evidence, d.evidence_id)
                    if ev is None or ev.asset_id != asset_id:
                        raise ValidationError(f"evidence {d.evidence_id!r} is not evidence of asset {asset_id!r}",
                                              where=f"defects[{i}].evidence_id")
            pred_id = body.based_on_prediction_id
            if pred_id is None:
                pred_id = latest_prediction_id(s, asset_id)
            review = add_review(
                s, asset_id, reviewer=who.name, expected_version=body.expected_version, grade=body.grade,
                defects=[d.model_dump(exclude_none=True) for d in body.defects], note=body.note,
                based_on_prediction_id=pred_id,
            )
        return ReviewWrite(review, body.expected_version + 1)
    except ConflictError:
        with ws.session(readonly=True) as s:
            current = s.execute(select(Asset.version).where(Asset.id == asset_id)).scalar_one()
            change = last_change(s, asset_id)
            again = _replayed(s, who, asset_id, body, current)
            if again is not None:
                s.expunge(again)
                return ReviewWrite(again, current, replayed=True)
        if body.expected_version > current:
            raise ValidationError(f"expected_version {body.expected_version} is ahead of asset {asset_id!r}, which "
                                  f"is at version {current}; send the version you read", where="expected_version") \
                from None
        if change is None:
            by = "another write"
        else:
            who_, when = change
            when_utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
            by = f"{who_} at {when_utc:%Y-%m-%d %H:%M:%S} UTC"
        raise ConflictError(
            f"asset {asset_id!r} was changed by {by}: it is now at version {current}, your review was made"
            f" against version {body.expected_version}. Nothing was saved; look at the new state and submit again."
        ) from None


_T = TypeVar("_T")


def _again_after_a_race(write: Callable[[], _T]) -> _T:
    """Run ``write`` (one transaction), and once more when it lost a unique-key race.

    On PostgreSQL two identical writes at once (a client's retry while its first post is still open)
    both find no row and both insert it; the second fails on the key when the first commits. Run
    again, it finds the stored row: the same content is the documented no-op, other content a conflict.
    """
    try:
        return write()
    except IntegrityError:
        return write()


def create_asset(ws: Workspace, who: Principal, body: AssetIn) -> Asset:
    """Add an asset (the same asset again is a no-op; other content for an existing id is a conflict)."""

    def write() -> Asset:
        with ws.session() as s:
            return add_asset(s, body.id, asset_type=body.asset_type, make=body.make, model=body.model,
                             attributes=body.attributes, value=body.value, actor=who.name)

    try:
        return _again_after_a_race(write)
    except ValidationError as exc:
        if exc.where != "asset_id":
            raise
        raise ValidationError(exc.reason, where="id") from exc  # the body's field is "id"


def grade_now(state: AppState, who: Principal, asset_id: str) -> Prediction:
    """Grade one asset with the workspace's trained grader, record it (prediction, overlays, audit event), return it."""
    from assetgrade.grader import record_grades
    from assetgrade.store.loading import load_records

    ws = state.workspace
    with ws.session(readonly=True) as s:
        get_asset(s, asset_id)  # 404 for an unknown asset before any model is loaded
    with state.grading_lock:
        grader = state.grader()
        records = load_records(ws, [asset_id])
        results = grader.grade_many(records)
        record_grades(ws, results, model_version=grader.version_, actor=who.name, grader=grader, records=records)
    with ws.session(readonly=True) as s:
        pred = latest_prediction(s, asset_id)
    if pred is None:  # pragma: no cover - it was just written
        raise ConflictError(f"the prediction of {asset_id!r} was not stored")
    return pred


def upload_image(ws: Workspace, who: Principal, asset_id: str, data: bytes, *, source: str | None = None
                 ) -> tuple[Evidence, str | None]:
    """Store an uploaded image as evidence of ``asset_id`` (re-sending the same bytes adds nothing).

    Returns the evidence and its stored origin: ``real`` as a station claims, unless the file carries
    the mark of an image ``assetgrade.synth`` made (then ``synthetic`` or ``augmented``), or the same
    image was stored before with another origin.
    """
    from assetgrade.ingest.images import marked_provenance, validate_image

    where = f"upload to asset {asset_id}"
    with ws.session(readonly=True) as s:
        get_asset(s, asset_id)
    info = validate_image(data, where=where, max_pixels=ws.config.max_image_pixels)
    claimed = ProvenanceInfo(source=source or f"rest upload by {who.name}", origin="real", device=who.name)
    sha = ws.blobs.put_bytes(data)
    evidence_id = f"{asset_id}/image/{sha[:24]}"

    def write() -> tuple[Evidence, str | None]:
        with ws.session() as s:
            gone = withdrawals_of(s, [evidence_id]).get(evidence_id)
            if gone is not None:  # stored and withdrawn: an answer of 201 would read as "in use"
                raise ConflictError(f"image {evidence_id!r}: the same content was {gone}; stored nothing (a withdrawn"
                                    " item stays out of grading; upload an image to the asset it shows)")
            ev = add_evidence(
                s, asset_id=asset_id, kind="image", sha256=sha, blob_sha=sha, media_type=info.media_type,
                attributes={"width": info.width, "height": info.height, "mode": info.mode},
                evidence_id=evidence_id,
                provenance=marked_provenance(info, claimed) or claimed,
                actor=who.name,
            )
            origin = s.execute(select(Provenance.origin).where(Provenance.evidence_id == ev.id)).scalar()
            return ev, origin

    return _again_after_a_race(write)  # the same bytes posted twice at once: stored once, both answered


def withdraw_item(ws: Workspace, who: Principal, evidence_id: str, body: WithdrawalIn) -> WithdrawalOut:
    """Withdraw one evidence item (:func:`~assetgrade.store.withdrawals.withdraw_evidence`), the token's name as the
    audit event's actor and, unless ``body.by`` names another person, as who withdrew it.

    NotFoundError naming an unknown id; an item withdrawn before is answered ``unchanged`` with its first
    withdrawal, and nothing is written.
    """
    with ws.session() as s:
        rep = withdraw_evidence(s, [evidence_id], reason=body.reason, by=body.by or who.name, actor=who.name)
        w = (rep.withdrawn or rep.already)[0]
        asset_id = s.execute(select(Evidence.asset_id).where(Evidence.id == evidence_id)).scalar_one()
        version = rep.asset_versions.get(asset_id)
        if version is None:
            version = s.execute(select(Asset.version).where(Asset.id == asset_id)).scalar_one()
    return WithdrawalOut(evidence_id=evidence_id, asset_id=asset_id, status="withdrawn" if rep.withdrawn
                         else "unchanged", withdrawn=WithdrawnOut(at=w.at, by=w.by, reason=w.reason),
                         asset_version=version)


def post_telemetry(ws: Workspace, who: Principal, body: TelemetryIn) -> TelemetryOut:
    """Store a station's batch; a repeated ``batch_id`` from the same station is accepted once."""
    station = body.station or who.name
    if station != who.name and not who.can("admin"):
        raise PermissionDeniedError(f"station token {who.name!r} may post only for station {who.name!r}")
    with ws.session() as s:
        if body.batch_id is not None:
            # a retry of a batch whose first post has not committed yet waits here for it, and then finds it
            # (PostgreSQL, read committed; SQLite's single writer already serialises the two)
            lock_chain(s)
            prior = s.execute(
                select(TelemetryRecord.id).where(TelemetryRecord.station == station,
                                                 TelemetryRecord.batch_id == body.batch_id)
                .order_by(TelemetryRecord.id)
            ).scalars().all()
            if prior:
                return TelemetryOut(station=station, batch_id=body.batch_id, accepted=0, first_id=prior[0],
                                    last_id=prior[-1])
        rows = [TelemetryRecord(station=station, kind=it.kind, asset_id=it.asset_id, batch_id=body.batch_id,
                                payload=it.payload) for it in body.items]
        s.add_all(rows)
        s.flush()
        first, last = rows[0].id, rows[-1].id
        append_event(s, actor=who.name, action="telemetry.add", entity="telemetry", entity_id=station,
                     payload={"batch_id": body.batch_id, "n": len(rows), "first_id": first, "last_id": last})
    return TelemetryOut(station=station, batch_id=body.batch_id, accepted=len(rows), first_id=first, last_id=last)

