"""Routes: the review queue (policy order), label requests, reviews (optimistic concurrency on the asset version)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from assetgrade.errors import NotFoundError
from assetgrade.rest.auth import Principal
from assetgrade.rest.deps import app_state, current_principal, roles
from assetgrade.rest.queries import QueueRow, review_queue
from assetgrade.rest.schemas import (
    ErrorOut,
    LabelRequestOut,
    LabelRequestPage,
    QueueItem,
    QueuePage,
    ReviewIn,
    ReviewOut,
)
from assetgrade.rest.writes import submit_review
from assetgrade.store.repository import get_asset
from assetgrade.store.requests import list_label_requests, withdraw_label_requests
from assetgrade.store.results import list_reviews

__all__ = ["queue_item", "router"]

router = APIRouter(prefix="/api/v1", tags=["review"])


def queue_item(row: QueueRow) -> QueueItem:
    """A queue row as its API model."""
    return QueueItem(
        position=row.position, asset_id=row.asset_id, asset_type=row.asset_type, asset_version=row.asset_version,
        prediction_id=row.prediction_id, grade=row.grade, conformal_set=row.conformal_set,
        expected_cost=row.expected_cost, n_contradictions=row.n_contradictions, reasons=row.reasons,
        created_at=row.created_at,
    )


@router.get("/queue", response_model=QueuePage, summary="The review queue in policy order")
def queue_route(request: Request, limit: int = Query(50, ge=1), offset: int = Query(0, ge=0),
                _: Principal = Depends(current_principal)) -> QueuePage:
    """Assets whose latest prediction says review and that nobody reviewed since, most costly first."""
    state = app_state(request)
    limit = min(limit, state.settings.max_page_size)
    with state.workspace.session(readonly=True) as s:
        rows, total = review_queue(s, limit=limit, offset=offset)
        items = [queue_item(r) for r in rows]
    return QueuePage(total=total, limit=limit, offset=offset, items=items)


@router.get("/review/requests", response_model=LabelRequestPage, summary="Label requests from active learning")
def label_requests_route(request: Request, status: Literal["open", "done", "withdrawn"] = "open",
                         limit: int = Query(50, ge=1), offset: int = Query(0, ge=0),
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
def post_review_route(asset_id: str, body: ReviewIn, request: Request,
                      who: Principal = Depends(roles("admin", "reviewer"))) -> ReviewOut:
    """Confirm or correct the grade and defects; 409 when the asset changed since ``expected_version``."""
    state = app_state(request)
    review, version = submit_review(state.workspace, state.ontology(), who, asset_id, body)
    out = ReviewOut.model_validate(review)
    out.asset_version = version
    return out


@router.get("/assets/{asset_id:path}/reviews", response_model=list[ReviewOut], summary="An asset's reviews")
def list_reviews_route(asset_id: str, request: Request,
                       _: Principal = Depends(current_principal)) -> list[ReviewOut]:
    """Reviews of the asset, newest first."""
    with app_state(request).workspace.session(readonly=True) as s:
        get_asset(s, asset_id)
        return [ReviewOut.model_validate(r) for r in list_reviews(s, asset_id)]
