"""A write made with the session cookie must show that a browser sent it from the service's own origin.

Every current browser sends ``Origin`` with a cross-origin POST and ``Sec-Fetch-Site`` with every request, so a
cookie write carrying neither comes from a client holding a copied cookie (or a very old browser): refused, saying
to use a bearer token (OWASP CSRF cheat sheet, "verifying origin with standard headers": if neither is present,
block). Before, such a write passed. And ``Origin`` is compared as an origin, scheme included: ``http://host`` is
not ``https://host``, which passed when only host and port were compared.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import create_app
from assetgrade.rest.deps import SESSION_COOKIE
from assetgrade.store.schema import Asset

from .conftest import SMALL_LIMITS, RestEnv

HOST = "assets.plant.example.com"


def _browser(env: RestEnv, site: str, *, cookie_secure: bool = False) -> TestClient:
    settings = SMALL_LIMITS.model_copy(update={"cookie_secure": cookie_secure})
    c = TestClient(create_app(env.ws, settings), base_url=site)
    r = c.post("/ui/login", data={"token": env.tokens["admin"], "next": "/ui/queue"}, headers={"Origin": site},
               follow_redirects=False)
    assert r.status_code == 303 and c.cookies.get(SESSION_COOKIE), r.text
    return c


@pytest.fixture
def plain(fresh_env: RestEnv) -> Iterator[TestClient]:
    """Logged in as admin to a service reached over plain HTTP (no TLS proxy, no ``--cookie-secure``)."""
    with _browser(fresh_env, f"http://{HOST}") as c:
        yield c


@pytest.fixture
def behind_tls(fresh_env: RestEnv) -> Iterator[TestClient]:
    """Logged in as admin to a service behind a TLS proxy: ``--cookie-secure``, the browser is on https."""
    with _browser(fresh_env, f"https://{HOST}", cookie_secure=True) as c:
        yield c


def _exists(env: RestEnv, asset_id: str) -> bool:
    with env.ws.session(readonly=True) as s:
        return s.get(Asset, asset_id) is not None


def test_a_cookie_api_write_without_browser_headers_is_refused(fresh_env: RestEnv, plain: TestClient) -> None:
    r = plain.post("/api/v1/assets", json={"id": "copied-1", "asset_type": "pump"})
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert "neither Origin nor Sec-Fetch-Site" in detail and "Authorization: Bearer" in detail, detail
    assert not _exists(fresh_env, "copied-1")
    r = plain.delete("/api/v1/tokens/alice")
    assert r.status_code == 403, r.text
    assert fresh_env.client.get("/api/v1/queue?limit=1", headers=fresh_env.auth("alice")).status_code == 200


def test_a_cookie_form_post_without_browser_headers_is_refused(fresh_env: RestEnv, plain: TestClient) -> None:
    aid = fresh_env.assets[0].asset_id
    r = plain.post(f"/ui/assets/{aid}/review", data={"expected_version": "1", "grade": "B"}, follow_redirects=False)
    assert r.status_code == 403 and "neither Origin nor Sec-Fetch-Site" in r.text, r.text
    assert "Authorization: Bearer" in r.text


def test_the_same_write_passes_with_a_bearer_token_or_a_browser_s_headers(fresh_env: RestEnv,
                                                                          plain: TestClient) -> None:
    r = plain.post("/api/v1/assets", json={"id": "bearer-1", "asset_type": "pump"}, headers=fresh_env.auth("admin"))
    assert r.status_code == 201, r.text
    r = plain.post("/api/v1/assets", json={"id": "own-1", "asset_type": "pump"}, headers={"Origin": f"http://{HOST}"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("origin", [f"https://{HOST}", f"ftp://{HOST}", f"http://{HOST}:8080",
                                    f"http://user@{HOST}"])
def test_over_plain_http_an_origin_with_another_scheme_or_port_is_refused(fresh_env: RestEnv, plain: TestClient,
                                                                          origin: str) -> None:
    r = plain.post("/api/v1/assets", json={"id": "other-1", "asset_type": "pump"}, headers={"Origin": origin})
    assert r.status_code == 403 and "cross-site" in r.text, (origin, r.text)
    assert not _exists(fresh_env, "other-1")


@pytest.mark.parametrize("origin", [f"https://{HOST}", f"https://{HOST}:443", f"https://{HOST.upper()}"])
def test_behind_tls_the_https_origin_passes(fresh_env: RestEnv, behind_tls: TestClient, origin: str) -> None:
    r = behind_tls.post("/api/v1/assets", json={"id": "tls-1", "asset_type": "pump"}, headers={"Origin": origin})
    assert r.status_code == 201, (origin, r.text)


def test_behind_tls_a_page_on_the_plain_http_origin_is_refused(fresh_env: RestEnv, behind_tls: TestClient) -> None:
    # what the browser sees is https (the proxy speaks plain HTTP to the service, so the request's own scheme is
    # http): --cookie-secure says so. A page served on http://host (a network attacker's) is another origin.
    r = behind_tls.post("/api/v1/assets", json={"id": "mixed-1", "asset_type": "pump"},
                        headers={"Origin": f"http://{HOST}"})
    assert r.status_code == 403 and f"http://{HOST}" in r.json()["detail"], r.text
    assert "https://" in r.json()["detail"]  # says which origin the service takes as its own
    assert not _exists(fresh_env, "mixed-1")


def test_login_and_logout_without_browser_headers_still_pass(fresh_env: RestEnv) -> None:
    # not cookie-authenticated writes: a login carries a token of its own, and a logout only ends the session the
    # cookie names (which is what a holder of a leaked cookie who wants it dead needs)
    c = fresh_env.client
    c.cookies.clear()
    r = c.post("/ui/login", data={"token": fresh_env.tokens["alice"], "next": "/ui/queue"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert c.post("/ui/logout", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("origin", "status"), [(f"https://{HOST}", 201), (f"http://{HOST}", 403)])
def test_behind_a_tls_proxy_the_origin_is_https_though_the_request_came_in_over_http(
        fresh_env: RestEnv, origin: str, status: int) -> None:
    # the proxy speaks plain HTTP to the service (the request's own scheme is http) and forwards Host; the browser
    # sent the (Secure) cookie to https://HOST. --cookie-secure makes https the service's scheme: a browser without
    # Sec-Fetch-Site, on the real page, passes; a page on http://HOST does not.
    from assetgrade.rest.auth import hash_token, sign_session_cookie

    settings = SMALL_LIMITS.model_copy(update={"cookie_secure": True})
    cookie = sign_session_cookie(hash_token(fresh_env.tokens["admin"]), settings.session_secret, 600)
    with TestClient(create_app(fresh_env.ws, settings), base_url=f"http://{HOST}") as hop:
        r = hop.post("/api/v1/assets", json={"id": "proxied-1", "asset_type": "pump"},
                     headers={"Origin": origin, "Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert r.status_code == status, (origin, r.text)
    assert _exists(fresh_env, "proxied-1") == (status == 201)
