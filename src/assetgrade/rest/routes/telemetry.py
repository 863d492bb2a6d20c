"""Routes: telemetry from edge stations (station tokens post; admins read per-station summaries)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from assetgrade.rest.auth import Principal
from assetgrade.rest.deps import app_state, roles
from assetgrade.rest.routes import answer_head
from assetgrade.rest.schemas import SQL_INT_MAX, StationSummary, TelemetryIn, TelemetryOut, TelemetryRecordOut
from assetgrade.rest.writes import post_telemetry
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.store.telemetry import telemetry_summary

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/telemetry", tags=["telemetry"])


@router.post("", response_model=TelemetryOut, status_code=201, summary="Post predictions and feature summaries")
def post_telemetry_route(body: TelemetryIn, request: Request,
                         who: Principal = Depends(roles("station", "admin"))) -> TelemetryOut:
    """Store a batch from a station; the same ``batch_id`` again is accepted once (retries are safe)."""
    return post_telemetry(app_state(request).workspace, who, body)


@router.get("/summary", response_model=list[StationSummary], summary="Telemetry per station")
def summary_route(request: Request, _: Principal = Depends(roles("admin"))) -> list[StationSummary]:
    """Counts, first/last receipt and the grade mix of posted predictions, per station."""
    with app_state(request).workspace.session(readonly=True) as s:
        return [StationSummary.model_validate(d) for d in telemetry_summary(s)]


@router.get("", response_model=list[TelemetryRecordOut], summary="Telemetry records (for drift checks)")
def list_route(request: Request, station: str | None = None, kind: str | None = None,
               after_id: int = Query(0, ge=0, le=SQL_INT_MAX), limit: int = Query(500, ge=1, le=SQL_INT_MAX),
               _: Principal = Depends(roles("admin"))) -> list[TelemetryRecordOut]:
    """Records after ``after_id`` in arrival order, optionally of one station and kind."""
    limit = min(limit, 5000)
    q = select(TelemetryRecord).where(TelemetryRecord.id > after_id).order_by(TelemetryRecord.id).limit(limit)
    if station is not None:
        q = q.where(TelemetryRecord.station == station)
    if kind is not None:
        q = q.where(TelemetryRecord.kind == kind)
    with app_state(request).workspace.session(readonly=True) as s:
        return [TelemetryRecordOut.model_validate(r) for r in s.execute(q).scalars()]


answer_head(router)
