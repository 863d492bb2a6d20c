"""API tokens (roles admin, reviewer, station), stored as sha256 hashes, and signed web session cookies.

A token is ``agt_`` + 43 URL-safe random characters (256 bits), shown once when created;
the store keeps only ``sha256(token)``. The web UI's session cookie holds the token hash,
a random session id and an expiry, signed with HMAC-SHA256 (RFC 2104) under the service's
session secret, so revoking the token also ends the sessions made with it, and logging out
ends that one session in the store (:func:`end_session`; the OWASP session management cheat
sheet: "the session must be invalidated on the server side on logout"). A token may carry
an expiry (``expires_in_days`` when created); after it, the token and its sessions stop authenticating.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from assetgrade.rest.errors import AuthenticationError
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.auth_schema import ROLES, ApiToken, EndedSession
from assetgrade.store.repository import check_line, check_storable
from assetgrade.store.schema import new_id, utcnow

__all__ = [
    "ENDED_SESSION_GRACE",
    "MAX_EXPIRY_DAYS",
    "TOKEN_PREFIX",
    "Principal",
    "SessionCookie",
    "TokenCache",
    "authenticate",
    "aware_utc",
    "create_token",
    "end_session",
    "hash_token",
    "list_tokens",
    "read_session_cookie",
    "require",
    "revoke_token",
    "session_ended",
    "sign_session_cookie",
]

TOKEN_PREFIX = "agt_"
MAX_EXPIRY_DAYS = 36_500


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the audit actor) and role.

    Examples
    --------
    >>> Principal("alice", "reviewer").can("reviewer", "admin")
    True
    """

    name: str
    role: str
    token_hash: str = ""
    expires_at: datetime | None = None
    """When the token stops authenticating (UTC); None: not before it is revoked."""

    def can(self, *roles: str) -> bool:
        """Whether this principal has one of ``roles``."""
        return self.role in roles


def hash_token(token: str) -> str:
    """The stored form of a token: its hex sha256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def aware_utc(ts: datetime) -> datetime:
    """A stored time as UTC-aware (SQLite gives naive datetimes back)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def create_token(session: Session, *, name: str, role: str, actor: str = "system",
                 expires_in_days: float | None = None) -> tuple[str, ApiToken]:
    """Create a token named ``name`` with ``role``; returns (the plain token, shown once; its row).

    ``expires_in_days`` (> 0, at most 36,500) makes it stop authenticating that long from now;
    None: it works until revoked.
    """
    if role not in ROLES:
        raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}", where="role")
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("token name must be 1 to 200 characters", where="name")
    check_storable(name, "name")  # a NUL: PostgreSQL refused the row, SQLite stored it
    # one line of printable text: the name is the actor of its holder's audit events and the default `by`
    # of its withdrawals, which refuse a tab or a line break (a name holding one could not withdraw)
    check_line(name, "name", limit=200, what="token name")
    expires_at = None
    if expires_in_days is not None:
        if not (math.isfinite(expires_in_days) and 0 < expires_in_days <= MAX_EXPIRY_DAYS):
            raise ValidationError(f"{expires_in_days!r} days is not allowed; give a number of days in"
                                  f" (0, {MAX_EXPIRY_DAYS:,}], or none for a token that works until revoked",
                                  where="expires_in_days")
        expires_at = utcnow() + timedelta(days=expires_in_days)
    lock_chain(session)  # PostgreSQL: a second create of the name waits here and finds it (409, not a key violation)
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise ConflictError(f"a token named {name!r} exists (a revoked token keeps its name, for the audit trail); "
                            "pick another name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(id=new_id("tok"), name=name, role=role, token_hash=hash_token(token), expires_at=expires_at)
    session.add(row)
    session.flush()
    append_event(session, actor=actor, action="token.create", entity="api_token", entity_id=row.id,
                 payload={"name": name, "role": role,
                          **({"expires_at": expires_at.isoformat()} if expires_at is not None else {})})
    return token, row


def revoke_token(session: Session, name: str, *, actor: str = "system", keep_an_admin: bool = False) -> ApiToken:
    """Revoke the token named ``name`` (it stops working at once in this process).

    With ``keep_an_admin`` (the API), the last admin token that still works (not revoked, not
    expired) is refused with ConflictError; the CLI may revoke it.
    """
    # PostgreSQL: a concurrent revocation waits here and then sees this one (two admins revoking each other at
    # once both found the other still working; a token revoked twice got two events and a later time)
    lock_chain(session)
    row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no token named {name!r}")
    if keep_an_admin and row.role == "admin" and row.revoked_at is None:
        now = utcnow()
        admins = session.execute(select(ApiToken.expires_at).where(
            ApiToken.role == "admin", ApiToken.revoked_at.is_(None), ApiToken.name != name)).scalars().all()
        if not any(exp is None or aware_utc(exp) > now for exp in admins):
            raise ConflictError(f"token {name!r} is the last admin token that still works; revoking it would "
                                "leave no one able to manage tokens through the API. Create another admin "
                                "token first, or revoke it with `assetgrade tokens revoke` on the server")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        append_event(session, actor=actor, action="token.revoke", entity="api_token", entity_id=row.id,
                     payload={"name": name})
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token row (hashes only), by name."""
    return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())


class TokenCache:
    """Checked token hashes → principals, trusted for ``ttl_s`` seconds (0: always look up).

    Examples
    --------
    >>> c = TokenCache(60.0)
    >>> c.put("h", Principal("a", "admin", "h")); c.get("h").name
    'a'
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        """The cached principal, or None when absent, stale or past its token's expiry.

        An expired token is not served from the cache however young the entry: the store lookup
        that follows answers the 401 naming when it expired.
        """
        with self._lock:
            item = self._items.get(token_hash)
        if item is None or time.monotonic() - item[0] > self.ttl_s:
            return None
        principal = item[1]
        if principal.expires_at is not None and utcnow() >= principal.expires_at:
            return None
        return principal

    def put(self, token_hash: str, principal: Principal) -> None:
        """Remember a checked principal."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token_hash] = (time.monotonic(), principal)

    def clear(self) -> None:
        """Forget everything (after a revocation)."""
        with self._lock:
            self._items.clear()


def authenticate(session: Session, token_hash: str, cache: TokenCache | None = None) -> Principal:
    """The principal of a token hash; AuthenticationError when unknown or revoked."""
    if cache is not None:
        hit = cache.get(token_hash)  # never a principal past its token's expiry (TokenCache.get)
        if hit is not None:
            return hit
    row = session.execute(
        select(ApiToken.name, ApiToken.role, ApiToken.revoked_at, ApiToken.expires_at)
        .where(ApiToken.token_hash == token_hash)
    ).first()
    if row is None:
        raise AuthenticationError("unknown API token")
    if row.revoked_at is not None:
        raise AuthenticationError(f"the API token {row.name!r} was revoked")
    principal = Principal(row.name, row.role, token_hash, None if row.expires_at is None else aware_utc(row.expires_at))
    _check_expiry(principal)
    if cache is not None:
        cache.put(token_hash, principal)
    return principal


def _check_expiry(principal: Principal) -> None:
    if principal.expires_at is not None and utcnow() >= principal.expires_at:
        raise AuthenticationError(f"the API token {principal.name!r} expired at"
                                  f" {principal.expires_at:%Y-%m-%d %H:%M} UTC; ask an admin for a new one")


def require(principal: Principal, *roles: str) -> Principal:
    """``principal`` when it has one of ``roles``, else PermissionDeniedError naming what is needed."""
    if not principal.can(*roles):
        raise PermissionDeniedError(
            f"{principal.name!r} has role {principal.role!r}; this needs {' or '.join(roles)}"
        )
    return principal


# -- signed session cookies ----------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SessionCookie:
    """What a valid session cookie says: whose token, which session, until when (Unix seconds).

    Examples
    --------
    >>> SessionCookie("ab" * 32, "s1", 60).expires_at.isoformat()
    '1970-01-01T00:01:00+00:00'
    """

    token_hash: str
    session_id: str
    expires: int

    @property
    def expires_at(self) -> datetime:
        """The expiry as a UTC time."""
        return datetime.fromtimestamp(self.expires, UTC)


def sign_session_cookie(token_hash: str, secret: str, max_age_s: int, *, now: float | None = None,
                        session_id: str | None = None) -> str:
    """A cookie value carrying ``token_hash`` and a session id until ``now + max_age_s``, signed with HMAC-SHA256.

    The session id (128 random bits unless given) is what logging out ends (:func:`end_session`).

    Examples
    --------
    >>> v = sign_session_cookie("ab" * 32, "s" * 32, 60, now=0.0, session_id="s1")
    >>> c = read_session_cookie(v, "s" * 32, now=30.0)
    >>> (c.token_hash == "ab" * 32, c.session_id, c.expires)
    (True, 's1', 60)
    >>> read_session_cookie(v, "x" * 32, now=30.0) is None
    True
    """
    t = time.time() if now is None else now
    sid = secrets.token_urlsafe(16) if session_id is None else session_id
    body = _b64(json.dumps({"h": token_hash, "sid": sid, "exp": int(t + max_age_s)}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def read_session_cookie(value: str, secret: str, *, now: float | None = None) -> SessionCookie | None:
    """What a valid, unexpired cookie says; None when forged, malformed, expired, or without a session id
    (signed before sessions had one: it could not be logged out, so its holder logs in again)."""
    try:
        body, sig = value.split(".", 1)
        want = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, want):
            return None
        data = json.loads(_unb64(body))
        t = time.time() if now is None else now
        exp = int(data["exp"])
        if exp < t:
            return None
        h, sid = data["h"], data["sid"]
        if not (isinstance(h, str) and isinstance(sid, str) and 0 < len(sid) <= 64):
            return None
        return SessionCookie(h, sid, exp)
    except (ValueError, KeyError, TypeError):
        return None


ENDED_SESSION_GRACE = timedelta(hours=1)
"""How long past its cookie's expiry an ended session is kept: another host whose clock is behind still refuses
the cookie in that time (its own clock says the cookie has not expired yet)."""


def end_session(session: Session, cookie: SessionCookie, *, now: datetime | None = None) -> None:
    """End the session ``cookie`` names (logging out): from the commit on, every service process sharing the store
    refuses that cookie (:func:`session_ended`). Ending it again changes nothing. Also deletes the ended sessions
    whose cookies expired more than :data:`ENDED_SESSION_GRACE` ago, so the table does not grow without bound."""
    t = utcnow() if now is None else now
    values = {"session_id": cookie.session_id, "expires_at": cookie.expires_at, "ended_at": t}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(EndedSession).values(values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(EndedSession).values(values).on_conflict_do_nothing())
    session.execute(delete(EndedSession).where(EndedSession.expires_at < t - ENDED_SESSION_GRACE))


def session_ended(session: Session, session_id: str) -> bool:
    """Whether the session ``session_id`` was ended by logging out (one primary-key lookup)."""
    return session.execute(select(EndedSession.session_id).where(EndedSession.session_id == session_id)).first() \
        is not None
