"""API writes made with the UI's session cookie come from the service's own pages only (cross-site request forgery):
SameSite=strict keeps other sites' cookies out, not a page on a sibling subdomain (same site), which could post a
bodiless ``POST /api/v1/assets/{id}/grade`` with an admin's cookie. Bearer-token clients are not affected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import create_app
from assetgrade.store import get_asset
from assetgrade.store.schema import Asset

from .conftest import SMALL_LIMITS, RestEnv

SITE = "https://assets.plant.example.com"
SIBLING = "https://wiki.plant.example.com"  # same site (plant.example.com), another origin


@pytest.fixture
def browser(fresh_env: RestEnv) -> Iterator[TestClient]:
    """A client of the service at ``SITE`` (its Host header), logged in to the UI as admin: it holds the cookie."""
    with TestClient(create_app(fresh_env.ws, SMALL_LIMITS), base_url=SITE) as c:
        r = c.post("/ui/login", data={"token": fresh_env.tokens["admin"], "next": "/ui/queue"},
                   headers={"Origin": SITE}, follow_redirects=False)
        assert r.status_code == 303 and c.cookies.get("assetgrade_session"), r.text
        yield c


def _asset_exists(env: RestEnv, asset_id: str) -> bool:
    with env.ws.session(readonly=True) as s:
        return s.get(Asset, asset_id) is not None


FORGED = [
    pytest.param({"Origin": "https://evil.example.com"}, id="foreign-origin"),
    pytest.param({"Origin": SIBLING, "Sec-Fetch-Site": "same-site"}, id="sibling-subdomain"),
    pytest.param({"Origin": SIBLING}, id="sibling-origin-without-fetch-metadata"),
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="no-origin-cross-site"),
    pytest.param({"Origin": "null"}, id="sandboxed-frame"),
    pytest.param({"Origin": SITE, "Sec-Fetch-Site": "cross-site"}, id="forged-origin-but-cross-site"),
]


@pytest.mark.parametrize("headers", FORGED)
def test_a_cookie_write_from_another_origin_is_refused(fresh_env: RestEnv, browser: TestClient,
                                                       headers: dict[str, str]) -> None:
    r = browser.post("/api/v1/assets", json={"id": "forged-1", "asset_type": "pump"}, headers=headers)
    assert r.status_code == 403, r.text
    detail = r.text
    assert "cross-site API write with the session cookie refused" in detail, detail
    assert "Authorization: Bearer" in detail, detail  # says what an API client does instead
    assert not _asset_exists(fresh_env, "forged-1")
    # the bodiless grade: refused before anything else is looked at (no grader here: it would be a 404)
    aid = fresh_env.assets[0].asset_id
    r = browser.post(f"/api/v1/assets/{aid}/grade", headers=headers)
    assert r.status_code == 403 and "cross-site" in r.text, r.text


def test_a_cookie_delete_is_checked_too(fresh_env: RestEnv, browser: TestClient) -> None:
    # an admin's cookie must not revoke a token from another site's page (PUT and PATCH fall under the same rule)
    r = browser.delete("/api/v1/tokens/alice", headers={"Origin": SIBLING, "Sec-Fetch-Site": "same-site"})
    assert r.status_code == 403 and "cross-site" in r.text, (r.status_code, r.text)
    assert fresh_env.client.get("/api/v1/queue?limit=1", headers=fresh_env.auth("alice")).status_code == 200


@pytest.mark.parametrize("headers", [
    pytest.param({"Origin": SITE}, id="same-origin"),
    pytest.param({"Origin": SITE, "Sec-Fetch-Site": "same-origin"}, id="same-origin-fetch-metadata"),
    pytest.param({"Sec-Fetch-Site": "same-origin"}, id="fetch-metadata-only"),
])  # neither header: refused since a browser always sends one (test_rest_cookie_strict.py)
def test_a_cookie_write_from_the_service_s_own_pages_passes(fresh_env: RestEnv, browser: TestClient,
                                                            headers: dict[str, str]) -> None:
    r = browser.post("/api/v1/assets", json={"id": "own-1", "asset_type": "pump"}, headers=headers)
    assert r.status_code == 201, r.text
    with fresh_env.ws.session(readonly=True) as s:
        assert get_asset(s, "own-1").asset_type == "pump"


def test_reads_with_the_cookie_are_not_checked(fresh_env: RestEnv, browser: TestClient) -> None:
    r = browser.get(f"/api/v1/assets/{fresh_env.assets[0].asset_id}", headers={"Origin": "https://evil.example.com"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example.com"},
                                     {"Origin": SIBLING, "Sec-Fetch-Site": "cross-site"}])
def test_a_bearer_token_client_is_not_affected(fresh_env: RestEnv, headers: dict[str, str]) -> None:
    # the header cannot be forged by another site's page; it alone judges a request that carries it
    with TestClient(create_app(fresh_env.ws, SMALL_LIMITS), base_url=SITE) as c:
        name = f"bearer-{len(headers)}"
        r = c.post("/api/v1/assets", json={"id": name, "asset_type": "pump"},
                   headers={**fresh_env.auth("admin"), **headers})
        assert r.status_code == 201, r.text
    assert _asset_exists(fresh_env, name)


def test_the_ui_form_posts_keep_their_own_message(fresh_env: RestEnv, browser: TestClient) -> None:
    aid = fresh_env.assets[0].asset_id
    r = browser.post(f"/ui/assets/{aid}/grade", headers={"Origin": SIBLING, "Sec-Fetch-Site": "same-site"},
                     follow_redirects=False)
    assert r.status_code == 403 and "cross-site form post refused" in r.text, r.text
