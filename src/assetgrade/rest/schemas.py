"""Pydantic models of the REST API's requests and responses (they make the OpenAPI schema)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, field_validator

from assetgrade.seeds import SEED_MAX

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
    "LabelRoundOut",
    "LabelSuggestionOut",
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
]


def _as_utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back naive, so say so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _bad_text(text: str) -> str | None:
    """Why ``text`` cannot be sent back as JSON text, or None when it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds a lone surrogate \\u{ord(text[exc.start]):04x}, which is not text UTF-8 can carry"
    return None


def _finite_json(value: Any, path: str = "") -> Any:
    """Refuse NaN and infinite numbers anywhere in a JSON value (JSON has none; Python's parser lets them in),
    and strings or keys with a lone UTF-16 surrogate such as ``"\\ud800"`` (JSON's parser lets them in;
    stored, every later read of them would fail to encode the answer)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} at {path or 'the top'} is not a finite number (JSON has no NaN or Infinity)")
    if isinstance(value, str) and (why := _bad_text(value)) is not None:
        raise ValueError(f"the text at {path or 'the top'} {why}")
    if isinstance(value, dict):
        for k, v in value.items():
            if (why := _bad_text(k)) is not None:
                raise ValueError(f"a key {f'in {path} ' if path else ''}{why}")
            _finite_json(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite_json(v, f"{path}[{i}]")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_finite_json)]
"""A free-form JSON object from a client, without NaN, infinite numbers or lone surrogates."""

SQL_INT_MAX = 2**63 - 1
"""The largest integer the stores hold: larger query numbers are refused with 422, not a 500."""

_IN = ConfigDict(extra="forbid", allow_inf_nan=False)
"""Request bodies: unknown fields and NaN/Infinity refused (422 naming the field).

Their numbers and booleans are strict (``Field(strict=True)``, ``StrictFloat``): a JSON integer
where an integer is asked, a JSON number (an integer too) where a number is, ``true``/``false``
where a boolean is. Lax parsing took ``true`` as 1, ``"1"`` as 1 and ``"yes"`` or ``1`` as true, so a
client's type bug (a version sent as a string, a flag as a number) passed unnoticed."""


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    """Every error body: the error class, a message, and for bad input where and why.

    Examples
    --------
    >>> ErrorOut(error="NotFoundError", detail="asset 'x' not found").error
    'NotFoundError'
    """

    error: str
    detail: str
    where: str | None = None
    reason: str | None = None


class HealthOut(BaseModel):
    """Liveness and the store's schema revision."""

    status: Literal["ok"]
    schema_revision: str | None


class ModelOut(BaseModel):
    """The grader that answers this service's grade requests (``models/grader``) and its registry entry."""

    model_version: str
    registry_version: str | None
    registry_status: str | None
    grades: list[str]
    ontology_version: str
    code_version: str
    n_train: int


class PredictionOut(_Out):
    """One stored prediction; ``payload`` is the full GradeResult (``GradeResult.to_dict()``)."""

    id: str
    asset_id: str
    model_version: str
    grade: str
    distribution: dict[str, float]
    conformal_set: list[str]
    decision: str
    expected_cost: float | None
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


class AssetIn(BaseModel):
    """A new asset."""

    model_config = _IN

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


class QueueItem(BaseModel):
    """One review-queue entry in policy order."""

    position: int
    asset_id: str
    asset_type: str
    asset_version: int
    prediction_id: str
    grade: str
    conformal_set: list[str]
    expected_cost: float | None
    n_contradictions: int
    reasons: list[str]
    created_at: UtcDatetime


class QueuePage(BaseModel):
    """One page of the review queue."""

    total: int
    limit: int
    offset: int
    items: list[QueueItem]


class LabelRequestOut(_Out):
    """An asset whose grade label active learning asked for (``assetgrade review suggest --enqueue``)."""

    asset_id: str
    batch_id: str
    rank: int
    strategy: str
    chosen_by: str
    model_version: str
    predicted_grade: str | None
    confidence: float | None
    requested_by: str
    requested_at: UtcDatetime
    status: str
    closed_at: UtcDatetime | None
    review_id: str | None


class LabelRequestPage(BaseModel):
    """One page of label requests (open ones: newest round first, then rank)."""

    status: str
    total: int
    limit: int
    offset: int
    items: list[LabelRequestOut]


class LabelRoundIn(BaseModel):
    """One active-learning round to store as label requests (``POST /review/requests``).

    Examples
    --------
    >>> LabelRoundIn(k=5, replace=True).strategy
    'budget_switch'
    """

    model_config = _IN

    k: int = Field(20, ge=1, le=1000, strict=True, description="how many unlabelled assets to ask labels for")
    strategy: str = Field("budget_switch", min_length=1, max_length=64,
                          description="active-learning strategy (assetgrade.review.selection); unknown names are 422")
    per_class: float | None = Field(None, ge=0, strict=True, description="budget_switch only: labels per grade at "
                                    "which it switches from typiclust to uncertain_coreset (default 10)")
    seed: int = Field(0, ge=0, le=SEED_MAX, strict=True)
    replace: bool = Field(False, strict=True, description="withdraw open requests of earlier rounds that this round "
                          "does not repeat")


class LabelSuggestionOut(_Out):
    """One asset the round asks a label for, in the strategy's order."""

    rank: int
    asset_id: str
    predicted_grade: str
    confidence: float
    margin: float
    expected_cost: float
    chosen_by: str


class LabelRoundOut(BaseModel):
    """A stored round: its id (``batch_id`` of its label requests), what it changed, and the suggestions."""

    batch_id: str
    strategy: str
    seed: int
    model_version: str
    requested_by: str
    labelled: int = Field(description="assets with a grade label when the round was made")
    assets: int
    added: list[str] = Field(description="assets that had no open request and now have one")
    refreshed: list[str] = Field(description="assets whose open request moved into this round")
    withdrawn: list[str] = Field(description="open requests of earlier rounds withdrawn (replace)")
    skipped: dict[str, str] = Field(description="asset id -> why no request was made")
    suggestions: list[LabelSuggestionOut]


class LabelRoundJobOut(BaseModel):
    """A round run in the background (``POST /review/requests?wait=false``): its state, and the round once done.

    ``lost``: the server process that ran it ended before it finished (ask again).
    """

    job_id: str
    status: Literal["queued", "running", "done", "failed", "lost"]
    url: str = Field(description="where to read this job's state")
    requested_by: str
    settings: dict[str, Any] = Field(description="the round's settings as asked (k, strategy, per_class, seed, "
                                     "replace)")
    queued_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    error: str | None = Field(None, description="why it failed (status failed)")
    round: LabelRoundOut | None = Field(None, description="the stored round (status done)")
    step: str | None = Field(None, description="what it is doing now (status running, when the server process "
                             "that answers runs it; another worker's job shows none)")


class DefectIn(BaseModel):
    """A defect the reviewer confirms or adds; ``box`` is [x0, y0, x1, y1] in image pixels."""

    model_config = _IN

    id: str = Field(min_length=1, max_length=200, description="ontology defect id")
    severity: str | None = Field(None, max_length=50)
    evidence_id: str | None = Field(None, max_length=200)
    box: list[StrictFloat] | None = Field(None, min_length=4, max_length=4)

    @field_validator("box")
    @classmethod
    def _box_order(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (v[2] < v[0] or v[3] < v[1]):
            raise ValueError("box must be [x0, y0, x1, y1] with x1 >= x0 and y1 >= y0")
        return v


class ReviewIn(BaseModel):
    """A review: the asset version it was made against (optimistic concurrency), grade, defects, note."""

    model_config = _IN

    expected_version: int = Field(ge=1, le=SQL_INT_MAX, strict=True, description="the asset version the reviewer saw")
    grade: str | None = Field(None, max_length=50)
    defects: list[DefectIn] = Field(default_factory=list, max_length=200)
    note: str | None = Field(None, max_length=10_000)
    based_on_prediction_id: str | None = Field(None, max_length=64)


class ReviewOut(_Out):
    """A stored review and the asset version it produced."""

    id: str
    asset_id: str
    reviewer: str
    grade: str | None
    defects: list[dict[str, Any]]
    note: str | None
    based_on_prediction_id: str | None
    created_at: UtcDatetime
    status: str
    asset_version: int | None = None


class TelemetryItem(BaseModel):
    """One item from a station: a prediction it made or a summary of its features."""

    model_config = _IN

    kind: Literal["prediction", "features"]
    asset_id: str | None = Field(None, max_length=200)
    payload: JsonObject


class TelemetryIn(BaseModel):
    """A batch of telemetry; ``station`` defaults to the token's name (only admins may set another)."""

    model_config = _IN

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


class AuditEventOut(_Out):
    """One audit event."""

    seq: int
    ts: UtcDatetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """Audit events after a sequence number."""

    items: list[AuditEventOut]
    next_after_seq: int | None


class ChainReportOut(BaseModel):
    """The hash chain check."""

    ok: bool
    n_events: int
    first_bad_seq: int | None
    reason: str | None


class TokenIn(BaseModel):
    """A token to create."""

    model_config = _IN

    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "reviewer", "station"]
    expires_in_days: float | None = Field(None, gt=0, le=36_500, allow_inf_nan=False, strict=True,
                                          description="the token stops working this many days from now;"
                                                      " omitted: it works until revoked")


class TokenOut(_Out):
    """A token's public facts (never the token)."""

    name: str
    role: str
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None
    expires_at: UtcDatetime | None = None


class TokenCreated(TokenOut):
    """A new token; ``token`` is shown this once."""

    token: str
