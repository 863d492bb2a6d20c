"""Routes: the review queue (policy order), label requests (list, new round, its job, withdraw), reviews."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from assetgrade.errors import NotFoundError
from assetgrade.rest.auth import Principal
from assetgrade.rest.deps import (
    AppState,
    app_state,
    current_principal,
    grader_bundle_info,
    load_workspace_grader,
    roles,
)
from assetgrade.rest.queries import QueueRow, review_queue
from assetgrade.rest.routes import answer_head
from assetgrade.rest.schemas import (
    SQL_INT_MAX,
    ErrorOut,
    LabelRequestOut,
    LabelRequestPage,
    LabelRoundIn,
    LabelRoundJobOut,
    LabelRoundOut,
    QueueItem,
    QueuePage,
    ReviewIn,
    ReviewOut,
)
from assetgrade.rest.writes import submit_review
from assetgrade.store.repository import get_asset
from assetgrade.store.requests import list_label_requests, withdraw_label_requests
from assetgrade.store.results import list_reviews

if TYPE_CHECKING:
    from assetgrade.review.suggest import LabelRound

__all__ = ["queue_item", "queue_label_round", "round_job_out", "round_out", "router", "store_label_round"]

router = APIRouter(prefix="/api/v1", tags=["review"])


def queue_item(row: QueueRow, currency: str | None = None) -> QueueItem:
    """A queue row as its API model, its ``expected_cost`` in ``currency`` (:meth:`AppState.currency`)."""
    return QueueItem(
        position=row.position, asset_id=row.asset_id, asset_type=row.asset_type, asset_version=row.asset_version,
        prediction_id=row.prediction_id, grade=row.grade, conformal_set=row.conformal_set,
        expected_cost=row.expected_cost, currency=currency, n_contradictions=row.n_contradictions,
        reasons=row.reasons, created_at=row.created_at,
    )


def round_out(stored: dict[str, Any], currency: str | None) -> LabelRoundOut:
    """A stored round (:func:`~assetgrade.review.rounds.stored_round`) as its API model, each suggestion's
    ``expected_cost`` in ``currency`` (:meth:`AppState.currency`)."""
    return LabelRoundOut.model_validate(
        {**stored, "suggestions": [{**sg, "currency": currency} for sg in stored.get("suggestions", ())]})


@router.get("/queue", response_model=QueuePage, summary="The review queue in policy order")
def queue_route(request: Request, limit: int = Query(50, ge=1, le=SQL_INT_MAX),
                offset: int = Query(0, ge=0, le=SQL_INT_MAX),
                _: Principal = Depends(current_principal)) -> QueuePage:
    """Assets whose latest prediction says review and that nobody reviewed since, most costly first."""
    state = app_state(request)
    limit = min(limit, state.settings.max_page_size)
    currency = state.currency()
    with state.workspace.session(readonly=True) as s:
        rows, total = review_queue(s, limit=limit, offset=offset)
        items = [queue_item(r, currency) for r in rows]
    return QueuePage(total=total, limit=limit, offset=offset, items=items)


@router.get("/review/requests", response_model=LabelRequestPage, summary="Label requests from active learning")
def label_requests_route(request: Request, status: Literal["open", "done", "withdrawn"] = "open",
                         limit: int = Query(50, ge=1, le=SQL_INT_MAX), offset: int = Query(0, ge=0, le=SQL_INT_MAX),
                         _: Principal = Depends(current_principal)) -> LabelRequestPage:
    """Assets whose grade label was asked for; open ones newest round first, then by the strategy's rank.

    A review of the asset closes its request (status ``done``, with the review's id).
    """
    state = app_state(request)
    limit = min(limit, state.settings.max_page_size)
    with state.workspace.session(readonly=True) as s:
        rows, total = list_label_requests(s, status=status, limit=limit, offset=offset)
        items = [LabelRequestOut.model_validate(r) for r in rows]
    return LabelRequestPage(status=status, total=total, limit=limit, offset=offset, items=items)


def store_label_round(state: AppState, who: Principal, body: LabelRoundIn) -> LabelRound:
    """Suggest a round with the workspace's trained grader and store it as label requests by ``who``.

    The settings are checked first (422 naming the field), then the grader is loaded as the other
    routes load it (:func:`~assetgrade.rest.deps.load_workspace_grader`: 404 without one, saying what to
    label first while ``assetgrade train`` cannot make one yet; 503 when it cannot be used)."""
    from assetgrade.review.suggest import check_round, label_round

    check_round(k=body.k, strategy=body.strategy, per_class=body.per_class, seed=body.seed, enqueue=True,
                replace=body.replace)
    grader = load_workspace_grader(state.workspace, state.ontology())
    return label_round(state.workspace, k=body.k, strategy=body.strategy, per_class=body.per_class, seed=body.seed,
                       enqueue=True, replace=body.replace, requested_by=who.name, grader=grader)


def queue_label_round(state: AppState, who: Principal, body: LabelRoundIn) -> str:
    """Check the round now and run it on the process's round runner; returns the job id.

    As :func:`store_label_round`, a ``bundle.json`` that does not read is 503 before anything is queued
    (the rest of the grader is loaded by the job, which records why it failed)."""
    from assetgrade.review.suggest import check_round

    check_round(k=body.k, strategy=body.strategy, per_class=body.per_class, seed=body.seed, enqueue=True,
                replace=body.replace)
    grader_bundle_info(state.workspace)  # 404 saying what to label first, or to train
    return state.rounds().submit(k=body.k, strategy=body.strategy, per_class=body.per_class, seed=body.seed,
                                 replace=body.replace, requested_by=who.name)


def round_job_out(state: AppState, job_id: str) -> LabelRoundJobOut:
    """The job's state as its API model (with this process's latest step when it runs it); 404 when there is none."""
    from assetgrade.review.rounds import read_round_job

    with state.workspace.session(readonly=True) as s:
        job = read_round_job(s, job_id)
    if job is None:
        raise NotFoundError(f"no label round job {job_id!r}")
    return LabelRoundJobOut(job_id=job.job_id, status=job.status, url=f"/api/v1/review/rounds/{job.job_id}",
                            requested_by=job.requested_by, settings=job.settings, queued_at=job.queued_at,
                            started_at=job.started_at, finished_at=job.finished_at,
                            error=None if job.error is None else state.redact(job.error),
                            round=None if job.round is None else round_out(job.round, state.currency()),
                            step=state.rounds().step(job_id) if job.status == "running" else None)


@router.post("/review/requests", response_model=LabelRoundOut, status_code=201,
             summary="Ask for labels: a new active-learning round (admin)",
             responses={202: {"model": LabelRoundJobOut, "description": "queued (wait=false)"},
                        404: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}})
def create_label_round_route(
    body: LabelRoundIn, request: Request,
    wait: bool = Query(True, description="false: check the round, run it in the background and answer 202 at once "
                       "with the job to poll (a first round over a large workspace can take minutes)"),
    who: Principal = Depends(roles("admin")),
) -> LabelRoundOut | JSONResponse:
    """Run the strategy over the workspace with its trained grader and store the round as label requests.

    404 when the workspace has no trained grader: it says what to label first while ``assetgrade train``
    cannot make one yet (no assets, no human grade label, one grade only), else to train; 422 naming the field for an
    unknown strategy or ``per_class`` with a strategy other than ``budget_switch``; 503 when the
    saved grader cannot be used (damaged or half-copied files, another grade scale), as for grading.
    With ``wait=false`` the 404, the 422 and a ``bundle.json`` that does not read are answered at
    once, before anything is queued; the job itself records any other failure.
    """
    from assetgrade.review.rounds import stored_round

    state = app_state(request)
    if not wait:
        job = round_job_out(state, queue_label_round(state, who, body))
        return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Location": job.url})
    return round_out(stored_round(store_label_round(state, who, body), who.name), state.currency())


@router.get("/review/rounds/{job_id}", response_model=LabelRoundJobOut, summary="A background round's state (admin)",
            responses={404: {"model": ErrorOut}})
def label_round_job_route(job_id: str, request: Request,
                          _: Principal = Depends(roles("admin"))) -> LabelRoundJobOut:
    """``queued``, ``running``, ``done`` (with the stored round), ``failed`` (with the error) or ``lost``."""
    return round_job_out(app_state(request), job_id)


@router.delete("/review/requests/{asset_id:path}", status_code=204, summary="Withdraw an open label request",
               responses={404: {"model": ErrorOut}})
def withdraw_label_request_route(asset_id: str, request: Request,
                                 who: Principal = Depends(roles("admin"))) -> Response:
    """Withdraw the asset's open label request; 404 when it has none."""
    with app_state(request).workspace.session() as s:
        if not withdraw_label_requests(s, [asset_id], actor=who.name):
            raise NotFoundError(f"asset {asset_id!r} has no open label request")
    return Response(status_code=204)


@router.post("/assets/{asset_id:path}/reviews", response_model=ReviewOut, status_code=201,
             summary="Review an asset", responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def post_review_route(asset_id: str, body: ReviewIn, request: Request, response: Response,
                      who: Principal = Depends(roles("admin", "reviewer"))) -> ReviewOut:
    """Confirm or correct the grade and defects; 409 when the asset changed since ``expected_version``.

    The same review sent again by the same reviewer (a retry after a lost response) answers the
    stored review with 200 and ``Idempotent-Replay: true``; nothing is written twice.
    """
    state = app_state(request)
    done = submit_review(state.workspace, state.ontology(), who, asset_id, body)
    out = ReviewOut.model_validate(done.review)
    out.asset_version = done.version
    if done.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replay"] = "true"
    return out


@router.get("/assets/{asset_id:path}/reviews", response_model=list[ReviewOut], summary="An asset's reviews")
def list_reviews_route(asset_id: str, request: Request,
                       _: Principal = Depends(current_principal)) -> list[ReviewOut]:
    """Reviews of the asset, newest first."""
    with app_state(request).workspace.session(readonly=True) as s:
        get_asset(s, asset_id)
        return [ReviewOut.model_validate(r) for r in list_reviews(s, asset_id)]


answer_head(router)
