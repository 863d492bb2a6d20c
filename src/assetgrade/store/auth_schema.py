"""Tables of the REST service: hashed API tokens (roles admin, reviewer, station) and station telemetry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from assetgrade.store.schema import COUNTER, Base, utcnow

__all__ = ["ROLES", "TELEMETRY_KINDS", "ApiToken", "TelemetryRecord"]

ROLES = ("admin", "reviewer", "station")
TELEMETRY_KINDS = ("prediction", "features")


class ApiToken(Base):
    """An API token: only its sha256 is stored; the plain token is shown once when created.

    Examples
    --------
    >>> ApiToken.__tablename__
    'api_tokens'
    """

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("role IN ('admin', 'reviewer', 'station')", name="ck_api_token_role"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """After this time the token no longer authenticates; None: it does until revoked (migration 0006)."""


class TelemetryRecord(Base):
    """One telemetry item posted by an edge station: a prediction it made or a feature summary.

    Examples
    --------
    >>> TelemetryRecord.__tablename__
    'telemetry'
    """

    __tablename__ = "telemetry"
    __table_args__ = (CheckConstraint("kind IN ('prediction', 'features')", name="ck_telemetry_kind"),)
    id: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    asset_id: Mapped[str | None] = mapped_column(String(200))
    """The station's own asset id; not required to exist in this store."""
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
