"""Tables of the REST service: hashed API tokens (roles admin, reviewer, station), ended web sessions, telemetry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from assetgrade.store.schema import COUNTER, Base, utcnow

__all__ = ["ROLES", "TELEMETRY_KINDS", "ApiToken", "EndedSession", "TelemetryRecord"]

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


class EndedSession(Base):
    """A web UI session ended by logging out (migration 0008): its cookie is refused until the cookie expires.

    The signed session cookie names its session by a random id; every request made with a cookie
    looks that id up here (the primary key: one indexed lookup), so a copy of the cookie taken before
    logging out is refused by every service process sharing the store. A row is deleted once the
    cookie it refuses has expired (by ``expires_at``, indexed), so the table holds only the logouts of
    the last session lifetime. It holds nothing secret: an ended id opens no session.

    Examples
    --------
    >>> EndedSession.__tablename__
    'ended_sessions'
    """

    __tablename__ = "ended_sessions"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    """When the session's cookie expires: after it the cookie is refused anyway, and the row may go."""
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
