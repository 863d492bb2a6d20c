"""Logging out ends the session on the server, not only in the browser: a copy of the session cookie taken before
**Log out** is refused afterwards (OWASP session management cheat sheet: "the session must be invalidated on the
server side on logout"), by every service process sharing the store, on SQLite and PostgreSQL. Before, logout only
deleted the cookie in the browser, and a copied cookie worked for the rest of its 12 hours."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assetgrade.rest import RestSettings, create_app, create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.rest.deps import SESSION_COOKIE
from assetgrade.store.schema import utcnow
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS

SITE = "http://testserver"
BROWSER = {"Origin": SITE}  # what a browser sends with the login and logout forms' posts


@dataclass
class Store:
    """A served store: the workspace and the plain text of its reviewer token ``alice``."""

    ws: Workspace
    token: str
    asset_ids: list[str]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store with two demo assets and the reviewer token ``alice``."""
    if request.param == "postgresql":
        workspace: Workspace = request.getfixturevalue("pg_ws")  # emptied and closed by that fixture
    else:
        workspace = Workspace.init(tmp_path / "ws")
    assets = seed_demo(workspace, n_assets=2, seed=3)
    with workspace.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
    yield Store(workspace, token, [a.asset_id for a in assets])
    if request.param == "sqlite":
        workspace.close()


def _client(ws: Workspace, settings: RestSettings = SMALL_LIMITS) -> TestClient:
    return TestClient(create_app(ws, settings), base_url=SITE)


def _login(c: TestClient, token: str) -> str:
    r = c.post("/ui/login", data={"token": token, "next": "/ui/queue"}, headers=BROWSER, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = c.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _with_cookie(c: TestClient, cookie: str) -> TestClient:
    c.cookies.clear()
    c.cookies.set(SESSION_COOKIE, cookie)
    return c


def test_a_cookie_copied_before_logout_is_refused_after_it(store: Store) -> None:
    ws, token = store.ws, store.token
    with _client(ws) as browser, _client(ws) as thief, _client(ws) as laptop:
        copied = _login(browser, token)
        other = _login(laptop, token)  # a second session of the same token (another browser)
        assert copied != other
        assert _with_cookie(thief, copied).get("/ui/queue", follow_redirects=False).status_code == 200

        r = browser.post("/ui/logout", headers=BROWSER, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login"
        assert SESSION_COOKIE not in browser.cookies  # the browser's copy is gone, as before

        # the copy: a page sends it to the login page saying the session ended, the API answers 401
        page = _with_cookie(thief, copied).get("/ui/queue", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/ui/login?next=/ui/queue&ended=1", (
            page.status_code, page.headers)
        api = thief.get("/api/v1/queue?limit=1")
        assert api.status_code == 401 and "logged out" in api.json()["detail"], api.text
        aid = store.asset_ids[0]
        post = thief.post(f"/ui/assets/{aid}/review", data={"expected_version": "1", "grade": "B"},
                          headers={**BROWSER, "HX-Request": "true"}, follow_redirects=False)
        assert post.status_code == 401, post.text  # and nothing saved under alice's name
        # logging the copy out again changes nothing and fails nothing
        assert thief.post("/ui/logout", headers=BROWSER, follow_redirects=False).status_code == 303

        # the token's other session is untouched, and the token logs in again
        assert laptop.get("/ui/queue", follow_redirects=False).status_code == 200
        assert laptop.get("/api/v1/queue?limit=1").status_code == 200
        fresh = _login(browser, token)
        assert fresh != copied
        assert browser.get("/ui/queue", follow_redirects=False).status_code == 200


def test_another_service_process_refuses_the_copy_at_once(store: Store) -> None:
    # two processes (two apps, one store, one secret); the second trusts checked tokens for a minute, which must
    # not let a logged-out session through: the ended session is looked up in the store on every request
    cached = SMALL_LIMITS.model_copy(update={"token_cache_s": 60.0})
    ws, token = store.ws, store.token
    with _client(ws) as one, _client(ws, cached) as two:
        copied = _login(one, token)
        assert _with_cookie(two, copied).get("/api/v1/queue?limit=1").status_code == 200  # now cached there
        assert one.post("/ui/logout", headers=BROWSER, follow_redirects=False).status_code == 303
        assert _with_cookie(two, copied).get("/api/v1/queue?limit=1").status_code == 401


def _ended_rows(ws: Workspace) -> list[str]:
    from assetgrade.store.auth_schema import EndedSession

    with ws.session(readonly=True) as s:
        return sorted(s.execute(select(EndedSession.session_id)).scalars())


def test_ended_sessions_past_their_cookie_s_expiry_are_cleaned(store: Store) -> None:
    from assetgrade.store.auth_schema import EndedSession

    ws, token = store.ws, store.token
    now = utcnow()
    with ws.session() as s:  # an ended session whose cookie expired long ago, and one still within its lifetime
        s.add_all([EndedSession(session_id="old", expires_at=now - timedelta(days=2)),
                   EndedSession(session_id="live", expires_at=now + timedelta(hours=3))])
    with _client(ws) as browser:
        _login(browser, token)
        assert browser.post("/ui/logout", headers=BROWSER, follow_redirects=False).status_code == 303
    rows = _ended_rows(ws)
    assert "old" not in rows and "live" in rows and len(rows) == 2, rows  # the new one, and 'live'


def _old_style_cookie(token_hash: str, secret: str) -> str:
    """A cookie as signed before sessions had ids: the token hash and an expiry only."""
    body = base64.urlsafe_b64encode(json.dumps({"h": token_hash, "exp": int(time.time()) + 3600},
                                               separators=(",", ":")).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig.rstrip(b'=').decode()}"


def test_a_cookie_without_a_session_id_cannot_be_logged_out_so_it_is_refused(store: Store) -> None:
    ws, token = store.ws, store.token
    old = _old_style_cookie(hashlib.sha256(token.encode()).hexdigest(), SMALL_LIMITS.session_secret)
    with _client(ws) as c:
        assert _with_cookie(c, old).get("/api/v1/queue?limit=1").status_code == 401


def test_the_migration_adds_the_table_to_an_existing_store(store: Store) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from assetgrade.store.engine import _alembic_config, current_revision, head_revision, upgrade

    ws, token = store.ws, store.token
    assert head_revision() >= "0008"  # later migrations came after it
    command.downgrade(_alembic_config(ws.engine), "0007")  # a store as the release before left it
    assert current_revision(ws.engine) == "0007" and "ended_sessions" not in inspect(ws.engine).get_table_names()
    assert upgrade(ws.engine) == head_revision()
    insp = inspect(ws.engine)
    assert "ended_sessions" in insp.get_table_names()
    assert {i["name"] for i in insp.get_indexes("ended_sessions")} == {"ix_ended_sessions_expires_at"}
    with _client(ws) as browser, _client(ws) as thief:  # the token made before the upgrade logs in and out
        copied = _login(browser, token)
        assert browser.post("/ui/logout", headers=BROWSER, follow_redirects=False).status_code == 303
        assert _with_cookie(thief, copied).get("/api/v1/queue?limit=1").status_code == 401
    assert len(_ended_rows(ws)) == 1


def test_nothing_is_written_for_a_logout_without_a_valid_cookie(store: Store) -> None:
    ws = store.ws
    with _client(ws) as c:
        c.cookies.set(SESSION_COOKIE, "forged.value")
        assert c.post("/ui/logout", headers=BROWSER, follow_redirects=False).status_code == 303
    assert _ended_rows(ws) == []
