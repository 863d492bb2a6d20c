"""REST models of assets, their evidence and their stored predictions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assetgrade.rest.schema_base import _CURRENCY_DOC, JsonObject, UtcDatetime, _In, _Out

__all__ = ["AssetIn", "AssetOut", "AssetPage", "EvidenceOut", "PredictionOut"]


class PredictionOut(_Out):
    """One stored prediction; ``payload`` is the full GradeResult (``GradeResult.to_dict()``).

    ``currency`` is the workspace config's; ``payload["currency"]`` is that of the cost settings the grader graded
    with (null when they named none, absent from predictions stored before the field existed).
    """

    id: str
    asset_id: str
    model_version: str
    grade: str
    distribution: dict[str, float]
    conformal_set: list[str]
    decision: str
    expected_cost: float | None
    currency: str | None = Field(None, description=_CURRENCY_DOC)
    created_at: UtcDatetime
    payload: dict[str, Any] = Field(default_factory=dict)


class AssetOut(_Out):
    """An asset, its version (send it back with a review) and its latest prediction's summary."""

    id: str
    asset_type: str
    make: str | None
    model: str | None
    attributes: dict[str, Any]
    value: float | None
    created_at: UtcDatetime
    version: int
    latest_grade: str | None = None
    latest_decision: str | None = None
    latest_prediction_id: str | None = None


class AssetPage(BaseModel):
    """One page of assets."""

    total: int
    limit: int
    offset: int
    items: list[AssetOut]


class AssetIn(_In):
    """A new asset."""

    id: str = Field(min_length=1, max_length=200)
    asset_type: str = Field("unknown", max_length=100)
    make: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    attributes: JsonObject = Field(default_factory=dict)
    value: float | None = Field(None, strict=True)


class EvidenceOut(_Out):
    """Evidence metadata; ``content_url`` serves the bytes, ``overlay_url`` a heat map when there is one."""

    id: str
    asset_id: str
    kind: str
    sha256: str
    media_type: str | None
    text: str | None
    attributes: dict[str, Any]
    created_at: UtcDatetime
    origin: str | None = None
    content_url: str | None = None
    overlay_url: str | None = None
