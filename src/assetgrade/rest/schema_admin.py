"""REST models of the service itself: health, the serving model, the audit chain and API tokens."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from assetgrade.rest.schema_base import UtcDatetime, _In, _Out

__all__ = [
    "AuditEventOut",
    "AuditPage",
    "ChainReportOut",
    "HealthOut",
    "ModelOut",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
]


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


class TokenIn(_In):
    """A token to create."""

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
