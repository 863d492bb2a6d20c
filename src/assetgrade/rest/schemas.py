"""Pydantic models of the REST API's requests and responses (they make the OpenAPI schema).

The models live by resource, as the routes do: :mod:`~assetgrade.rest.schema_assets` (assets,
evidence, predictions), :mod:`~assetgrade.rest.schema_review` (queue, reviews, label requests and
rounds), :mod:`~assetgrade.rest.schema_telemetry` and :mod:`~assetgrade.rest.schema_admin` (health,
model, audit, tokens); the shared validators, base classes and error body are in
:mod:`~assetgrade.rest.schema_base`. Every name is importable from here as before.
"""

from __future__ import annotations

from assetgrade.rest.schema_admin import (
    AuditEventOut,
    AuditPage,
    ChainReportOut,
    HealthOut,
    ModelOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from assetgrade.rest.schema_assets import (
    AssetIn,
    AssetOut,
    AssetPage,
    EvidenceOut,
    PredictionOut,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawnOut,
)
from assetgrade.rest.schema_base import _IN as _IN
from assetgrade.rest.schema_base import SQL_INT_MAX, ErrorOut
from assetgrade.rest.schema_base import JsonObject as JsonObject
from assetgrade.rest.schema_base import UtcDatetime as UtcDatetime
from assetgrade.rest.schema_base import _as_utc as _as_utc
from assetgrade.rest.schema_base import _bad_text as _bad_text
from assetgrade.rest.schema_base import _finite_json as _finite_json
from assetgrade.rest.schema_base import _Out as _Out
from assetgrade.rest.schema_review import (
    DefectIn,
    LabelRequestOut,
    LabelRequestPage,
    LabelRoundIn,
    LabelRoundJobOut,
    LabelRoundOut,
    LabelSuggestionOut,
    QueueItem,
    QueuePage,
    ReviewIn,
    ReviewOut,
)
from assetgrade.rest.schema_telemetry import (
    StationSummary,
    TelemetryIn,
    TelemetryItem,
    TelemetryOut,
    TelemetryRecordOut,
)

__all__ = [
    "SQL_INT_MAX",
    "AssetIn",
    "AssetOut",
    "AssetPage",
    "AuditEventOut",
    "AuditPage",
    "ChainReportOut",
    "DefectIn",
    "ErrorOut",
    "EvidenceOut",
    "HealthOut",
    "LabelRequestOut",
    "LabelRequestPage",
    "LabelRoundIn",
    "LabelRoundJobOut",
    "LabelRoundOut",
    "LabelSuggestionOut",
    "ModelOut",
    "PredictionOut",
    "QueueItem",
    "QueuePage",
    "ReviewIn",
    "ReviewOut",
    "StationSummary",
    "TelemetryIn",
    "TelemetryItem",
    "TelemetryOut",
    "TelemetryRecordOut",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "WithdrawalIn",
    "WithdrawalOut",
    "WithdrawnOut",
]
