"""REST models of station telemetry: posted batches, stored records and per-station summaries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from assetgrade.rest.schema_base import JsonObject, UtcDatetime, _In, _Out

__all__ = ["StationSummary", "TelemetryIn", "TelemetryItem", "TelemetryOut", "TelemetryRecordOut"]


class TelemetryItem(_In):
    """One item from a station: a prediction it made or a summary of its features."""

    kind: Literal["prediction", "features"]
    asset_id: str | None = Field(None, max_length=200)
    payload: JsonObject


class TelemetryIn(_In):
    """A batch of telemetry; ``station`` defaults to the token's name (only admins may set another)."""

    station: str | None = Field(None, min_length=1, max_length=200)
    batch_id: str | None = Field(None, max_length=64)
    items: list[TelemetryItem] = Field(min_length=1, max_length=5000)


class TelemetryOut(BaseModel):
    """What a telemetry post stored."""

    station: str
    batch_id: str | None
    accepted: int
    first_id: int
    last_id: int


class TelemetryRecordOut(_Out):
    """One stored telemetry record."""

    id: int
    station: str
    kind: str
    asset_id: str | None
    batch_id: str | None
    payload: dict[str, Any]
    received_at: UtcDatetime


class StationSummary(BaseModel):
    """Telemetry per station."""

    station: str
    n_predictions: int
    n_features: int
    first_received: UtcDatetime | None
    last_received: UtcDatetime | None
    grade_mix: dict[str, int]
