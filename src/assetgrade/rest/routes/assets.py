"""Routes: assets (list, get, create), evidence (metadata, bytes, heat-map overlay), grades, image upload."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.rest.auth import Principal
from assetgrade.rest.deps import app_state, current_principal, roles
from assetgrade.rest.queries import PredictionSummary, asset_rows, latest_predictions, latest_summaries
from assetgrade.rest.routes import answer_head
from assetgrade.rest.schema_assets import ReinstatedOut, ReinstatementIn, ReinstatementOut
from assetgrade.rest.schemas import (
    SQL_INT_MAX,
    AssetIn,
    AssetOut,
    AssetPage,
    ErrorOut,
    EvidenceOut,
    PredictionOut,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawnOut,
)
from assetgrade.rest.writes import create_asset, grade_now, upload_image, withdraw_item
from assetgrade.store.repository import get_asset, get_evidence
from assetgrade.store.results import list_predictions
from assetgrade.store.schema import EVIDENCE_KINDS, Asset, Evidence, Prediction, Provenance
from assetgrade.store.withdrawals import Withdrawal, reinstate_evidence, withdrawals_of

__all__ = ["asset_out", "evidence_out", "evidence_url", "overlay_sha", "prediction_out", "router"]

router = APIRouter(prefix="/api/v1", tags=["assets"])
IMMUTABLE = "private, max-age=31536000, immutable"


def asset_out(asset: Asset, pred: Prediction | PredictionSummary | None) -> AssetOut:
    """An asset row with its latest prediction's summary."""
    out = AssetOut.model_validate(asset)
    if pred is not None:
        out.latest_grade, out.latest_decision, out.latest_prediction_id = pred.grade, pred.decision, pred.id
    return out


def evidence_url(evidence_id: str, what: str) -> str:
    """The API path of an evidence item's bytes (``content``) or heat map (``overlay``), its id percent-encoded.

    >>> evidence_url("pump-1/image/q?a=1 #2", "content")
    '/api/v1/evidence/pump-1/image/q%3Fa%3D1%20%232/content'
    """
    return f"/api/v1/evidence/{quote(evidence_id, safe='/')}/{what}"


def overlay_sha(pred: Prediction | None, evidence_id: str) -> str | None:
    """The heat-map overlay blob of ``evidence_id`` referenced by a prediction payload, if any.

    The payload lists overlays as ``{"overlays": {evidence_id: blob sha256}}`` (or a list of
    ``{"evidence_id": ..., "sha256": ...}``).
    """
    if pred is None:
        return None
    overlays: Any = (pred.payload or {}).get("overlays")
    if isinstance(overlays, dict):
        sha = overlays.get(evidence_id)
        return sha if isinstance(sha, str) else None
    if isinstance(overlays, list):
        for o in overlays:
            if isinstance(o, dict) and o.get("evidence_id") == evidence_id and isinstance(o.get("sha256"), str):
                return str(o["sha256"])
    return None


def evidence_out(ev: Evidence, origin: str | None, pred: Prediction | None,
                 withdrawn: Withdrawal | None = None) -> EvidenceOut:
    """Evidence metadata with links to its bytes and heat map, and its withdrawal when it is withdrawn."""
    out = EvidenceOut.model_validate(ev)
    out.origin = origin
    if withdrawn is not None:
        out.withdrawn = WithdrawnOut(at=withdrawn.at, by=withdrawn.by, reason=withdrawn.reason)
    if ev.blob_sha is not None:
        out.content_url = evidence_url(ev.id, "content")
    if overlay_sha(pred, ev.id) is not None:
        out.overlay_url = evidence_url(ev.id, "overlay")
    return out


def prediction_out(pred: Prediction, currency: str | None) -> PredictionOut:
    """A stored prediction as its API model, its ``expected_cost`` in ``currency`` (:meth:`AppState.currency`)."""
    return PredictionOut.model_validate(pred).model_copy(update={"currency": currency})


def _etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` as RFC 9110 reads it: ``*``, or a list of tags compared weakly (``W/`` ignored).

    >>> _etag_matches('W/"a", "b"', '"b"'), _etag_matches("*", '"b"'), _etag_matches('"a"', '"b"')
    (True, True, False)
    """
    if header is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


INLINE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff", "image/webp",
                                "text/plain"})
"""Media types served for display; any other stored type (``text/html``, ``image/svg+xml``, a PDF)
comes as a download, so bytes someone ingested never run as a page of this service's origin."""
CONTENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
"""Sent with every evidence body: no type sniffing, and a document opened from it gets no script or origin."""


def content_headers(media_type: str, name: str) -> dict[str, str]:
    """:data:`CONTENT_HEADERS`, plus ``Content-Disposition: attachment`` unless ``media_type`` is shown inline.

    >>> content_headers("text/html", "x")["Content-Disposition"]
    'attachment; filename="x"'
    >>> "Content-Disposition" in content_headers("image/png", "x")
    False
    """
    headers = dict(CONTENT_HEADERS)
    if media_type.split(";")[0].strip().lower() not in INLINE_MEDIA_TYPES:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-100:] or "evidence"
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return headers


def _blob_response(request: Request, sha: str, media_type: str, name: str) -> Response:
    etag = f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, **content_headers(media_type, name)}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    blobs = app_state(request).workspace.blobs
    if request.method == "HEAD":  # the headers a GET would send, without reading the blob
        return Response(media_type=media_type, headers={**headers, "Content-Length": str(blobs.size(sha))})
    return Response(content=blobs.get_bytes(sha), media_type=media_type, headers=headers)


@router.get("/assets", response_model=AssetPage, summary="List assets with their latest grade")
def list_assets_route(
    request: Request, _: Principal = Depends(current_principal),
    asset_type: str | None = None, decision: str | None = Query(None, description="latest decision"),
    grade: str | None = Query(None, description="latest grade"), q: str | None = Query(None, description="id prefix"),
    limit: int = Query(50, ge=1, le=SQL_INT_MAX), offset: int = Query(0, ge=0, le=SQL_INT_MAX),
) -> AssetPage:
    """Assets ordered by id; filters apply to the type, the id prefix and the latest prediction."""
    state = app_state(request)
    limit = min(limit, state.settings.max_page_size)
    with state.workspace.session(readonly=True) as s:
        rows, total = asset_rows(s, asset_type=asset_type, decision=decision, grade=grade, id_prefix=q,
                                 limit=limit, offset=offset)
        items = [asset_out(r.asset, r.prediction) for r in rows]
    return AssetPage(total=total, limit=limit, offset=offset, items=items)


@router.post("/assets", response_model=AssetOut, status_code=201, summary="Add an asset")
def create_asset_route(body: AssetIn, request: Request,
                       who: Principal = Depends(roles("admin", "station"))) -> AssetOut:
    """Add an asset (admin, station); the same asset again is a no-op."""
    asset = create_asset(app_state(request).workspace, who, body)
    return asset_out(asset, None)


@router.get("/assets/{asset_id:path}/evidence", response_model=list[EvidenceOut], summary="An asset's evidence")
def list_evidence_route(asset_id: str, request: Request, response: Response, kind: str | None = None,
                        limit: int | None = Query(None, ge=1, le=SQL_INT_MAX,
                                                  description="at most this many items (default: all)"),
                        offset: int = Query(0, ge=0, le=SQL_INT_MAX),
                        _: Principal = Depends(current_principal)) -> list[EvidenceOut]:
    """Evidence items of an asset in id order with their origin and content/overlay links; a withdrawn item is listed
    with its withdrawal (``withdrawn``: when, by whom, why), null for the others.

    ``limit``/``offset`` page through an asset with many items; ``X-Total-Count`` always holds how
    many items match (with ``kind``), so a client knows when it has them all.
    """
    if kind is not None and kind not in EVIDENCE_KINDS:  # else an unknown kind read as "no such evidence"
        raise ValidationError(f"unknown evidence kind {kind!r}; allowed: {', '.join(EVIDENCE_KINDS)}", where="kind")
    state = app_state(request)
    with state.workspace.session(readonly=True) as s:
        get_asset(s, asset_id)
        where = [Evidence.asset_id == asset_id, *([Evidence.kind == kind] if kind is not None else [])]
        total = s.execute(select(func.count()).select_from(Evidence).where(*where)).scalar_one()
        q = (select(Evidence, Provenance.origin).outerjoin(Provenance, Provenance.evidence_id == Evidence.id)
             .where(*where).order_by(Evidence.id).offset(offset).limit(limit))
        pred = latest_predictions(s, [asset_id]).get(asset_id)
        response.headers["X-Total-Count"] = str(total)
        rows = s.execute(q).all()
        gone = withdrawals_of(s, [ev.id for ev, _ in rows])
        return [evidence_out(ev, origin, pred, gone.get(ev.id)) for ev, origin in rows]


@router.post("/assets/{asset_id:path}/images", response_model=EvidenceOut, status_code=201,
             summary="Upload an image (raw body, Content-Type image/*)",
             responses={409: {"model": ErrorOut, "description": "the same bytes were stored for the asset and"
                                                                " withdrawn: nothing is stored"}})
async def upload_image_route(asset_id: str, request: Request,
                             who: Principal = Depends(roles("admin", "station"))) -> EvidenceOut:
    """Store the request body as an image of the asset (admin, station); idempotent per content.

    The same bytes as an image of the asset that was withdrawn are refused with 409 naming the withdrawal (when, by
    whom, why): nothing is stored, and the item stays withdrawn."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("image/"):  # media types are case-insensitive (RFC 9110), as for the size limit
        raise ValidationError(f"send the image bytes with an image/* Content-Type, got {ctype or 'none'!r}",
                              where="Content-Type")
    data = await request.body()
    from starlette.concurrency import run_in_threadpool

    ws = app_state(request).workspace
    ev, origin = await run_in_threadpool(upload_image, ws, who, asset_id, data,
                                         source=request.headers.get("x-assetgrade-source"))

    def latest() -> Prediction | None:  # bytes stored before may have a heat map: answer as GET /evidence/{id}
        with ws.session(readonly=True) as s:
            return latest_predictions(s, [ev.asset_id]).get(ev.asset_id)

    return evidence_out(ev, origin, await run_in_threadpool(latest))


@router.get("/assets/{asset_id:path}/grade", response_model=PredictionOut, summary="Latest prediction")
def latest_grade_route(asset_id: str, request: Request, _: Principal = Depends(current_principal)) -> PredictionOut:
    """The asset's newest prediction (404 when never graded)."""
    with app_state(request).workspace.session(readonly=True) as s:
        get_asset(s, asset_id)
        pred = latest_predictions(s, [asset_id]).get(asset_id)
        if pred is None:
            raise NotFoundError(f"asset {asset_id!r} has no prediction yet")
        return prediction_out(pred, app_state(request).currency())


@router.post("/assets/{asset_id:path}/grade", response_model=PredictionOut, status_code=201,
             summary="Grade the asset now (admin, station)", responses={404: {"model": ErrorOut}})
def grade_now_route(asset_id: str, request: Request,
                    who: Principal = Depends(roles("admin", "station"))) -> PredictionOut:
    """Grade the asset with the workspace's trained grader and record it, as ``assetgrade grade ASSET_ID`` does.

    The prediction, its heat-map overlays and a ``grade.decision`` audit event (the token's name as
    actor) are stored. The grader is loaded once per server process (again after retraining) with
    the workspace's evidence store, so an asset whose evidence did not change is graded from it.
    404 for an unknown asset, or when the workspace has no trained grader: it says what to label first while
    ``assetgrade train`` cannot make one yet, else to train.
    """
    state = app_state(request)
    return prediction_out(grade_now(state, who, asset_id), state.currency())


@router.get("/assets/{asset_id:path}/grades", response_model=list[PredictionOut], summary="Prediction history")
def grade_history_route(asset_id: str, request: Request,
                        _: Principal = Depends(current_principal)) -> list[PredictionOut]:
    """All predictions of the asset, newest first."""
    state = app_state(request)
    currency = state.currency()
    with state.workspace.session(readonly=True) as s:
        get_asset(s, asset_id)
        return [prediction_out(p, currency) for p in list_predictions(s, asset_id)]


@router.get("/assets/{asset_id:path}", response_model=AssetOut, summary="One asset")
def get_asset_route(asset_id: str, request: Request, _: Principal = Depends(current_principal)) -> AssetOut:
    """The asset, its version and its latest grade."""
    with app_state(request).workspace.session(readonly=True) as s:
        asset = get_asset(s, asset_id)
        return asset_out(asset, latest_summaries(s, [asset_id]).get(asset_id))


@router.head("/evidence/{evidence_id:path}/content", include_in_schema=False)  # curl -I, link checkers, caches
@router.get("/evidence/{evidence_id:path}/content", summary="Evidence bytes (cached by sha)",
            response_class=Response, responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}})
def evidence_content_route(evidence_id: str, request: Request,
                           _: Principal = Depends(current_principal)) -> Response:
    """The stored bytes with their media type; ETag is the sha256, so clients cache them for good."""
    with app_state(request).workspace.session(readonly=True) as s:
        ev = get_evidence(s, evidence_id)
    if ev.blob_sha is None:
        return Response(content=(ev.text or "").encode("utf-8"), media_type="text/plain; charset=utf-8",
                        headers=dict(CONTENT_HEADERS))
    return _blob_response(request, ev.blob_sha, ev.media_type or "application/octet-stream",
                          ev.id.rsplit("/", 1)[-1])


@router.head("/evidence/{evidence_id:path}/overlay", include_in_schema=False)  # curl -I, link checkers, caches
@router.get("/evidence/{evidence_id:path}/overlay", summary="Heat-map overlay PNG from the latest prediction",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def evidence_overlay_route(evidence_id: str, request: Request,
                           _: Principal = Depends(current_principal)) -> Response:
    """The heat-map overlay the asset's latest prediction references for this image (404 if none)."""
    with app_state(request).workspace.session(readonly=True) as s:
        ev = get_evidence(s, evidence_id)
        pred = latest_predictions(s, [ev.asset_id]).get(ev.asset_id)
    sha = overlay_sha(pred, evidence_id)
    if sha is None:
        raise NotFoundError(f"the latest prediction of asset {ev.asset_id!r} has no heat map for {evidence_id!r}")
    return _blob_response(request, sha, "image/png", "overlay.png")


@router.post("/evidence/{evidence_id:path}/withdraw", response_model=WithdrawalOut, status_code=201,
             summary="Withdraw an evidence item (admin)",
             responses={200: {"model": WithdrawalOut, "description": "withdrawn before: unchanged, its first"
                                                                     " withdrawal answered"},
                        404: {"model": ErrorOut, "description": "no evidence item with this id"}})
def withdraw_evidence_route(evidence_id: str, body: WithdrawalIn, request: Request, response: Response,
                            who: Principal = Depends(roles("admin"))) -> WithdrawalOut:
    """Take an item a wrong ingest stored out of training, grading and the counts, as ``assetgrade assets withdraw``
    does (store.md, "Withdrawn evidence"): nothing is deleted; a withdrawal row and an ``evidence.withdraw`` audit
    event (the token's name as actor) are written and the asset's version is raised (201). ``by`` defaults to the
    token's name. An item withdrawn before: 200 with ``status`` ``unchanged`` and its first withdrawal; nothing is
    written. ``POST /evidence/{id}/reinstate`` undoes it."""
    out = withdraw_item(app_state(request).workspace, who, evidence_id, body)
    if out.status == "unchanged":
        response.status_code = 200
    return out


@router.post("/evidence/{evidence_id:path}/reinstate", response_model=ReinstatementOut, status_code=201,
             summary="Reinstate a withdrawn evidence item (admin)",
             responses={200: {"model": ReinstatementOut, "description": "not withdrawn: unchanged"},
                        404: {"model": ErrorOut, "description": "no evidence item with this id"},
                        409: {"model": ErrorOut, "description": "another item of its source is in use (a newer"
                                                                " export stored with ingest --supersede): withdraw"
                                                                " that one first"}})
def reinstate_evidence_route(evidence_id: str, body: ReinstatementIn, request: Request, response: Response,
                             who: Principal = Depends(roles("admin"))) -> ReinstatementOut:
    """Undo a withdrawal, as ``assetgrade assets reinstate`` does (store.md, "Withdrawn evidence"): the item is used
    to train and grade again; nothing is deleted: a reinstatement row and an ``evidence.reinstate`` audit event (the
    token's name as actor) are written and the asset's version is raised (201). ``by`` defaults to the token's name.
    An item not withdrawn: 200 with ``status`` ``unchanged``; nothing is written. An item whose source has another
    item in use: 409, nothing written."""
    with app_state(request).workspace.session() as s:
        rep = reinstate_evidence(s, [evidence_id], reason=body.reason, by=body.by or who.name, actor=who.name)
        asset_id = s.execute(select(Evidence.asset_id).where(Evidence.id == evidence_id)).scalar_one()
        version = rep.asset_versions.get(asset_id)
        if version is None:
            version = s.execute(select(Asset.version).where(Asset.id == asset_id)).scalar_one()
    if not rep.reinstated:
        response.status_code = 200
        return ReinstatementOut(evidence_id=evidence_id, asset_id=asset_id, status="unchanged",
                                asset_version=version)
    r = rep.reinstated[0]
    return ReinstatementOut(evidence_id=evidence_id, asset_id=asset_id, status="reinstated",
                            reinstated=ReinstatedOut(at=r.at, by=r.by, reason=r.reason),
                            ended=WithdrawnOut(at=r.ended.at, by=r.ended.by, reason=r.ended.reason),
                            asset_version=version)


@router.get("/evidence/{evidence_id:path}", response_model=EvidenceOut, summary="Evidence metadata")
def evidence_meta_route(evidence_id: str, request: Request, _: Principal = Depends(current_principal)) -> EvidenceOut:
    """One evidence item's metadata and links; ``withdrawn`` (when, by whom, why) for a withdrawn item, else null."""
    with app_state(request).workspace.session(readonly=True) as s:
        ev = get_evidence(s, evidence_id)
        prov = s.get(Provenance, evidence_id)
        pred = latest_predictions(s, [ev.asset_id]).get(ev.asset_id)
        gone = withdrawals_of(s, [ev.id]).get(ev.id)
        return evidence_out(ev, prov.origin if prov else None, pred, gone)


answer_head(router)
