"""REST auth (no token, bad token, wrong role, revoked) and request size limits (413)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import update

from assetgrade.store.auth_schema import ApiToken


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/assets"), ("get", "/api/v1/assets/demo-001"), ("get", "/api/v1/queue"),
    ("get", "/api/v1/ontology"), ("get", "/api/v1/evidence/demo-001/image/1/content"),
    ("post", "/api/v1/assets/demo-001/reviews"), ("post", "/api/v1/telemetry"), ("get", "/api/v1/audit/events"),
])
def test_no_token_is_401(demo_env: Any, method: str, path: str) -> None:
    r = getattr(demo_env.client, method)(path) if method == "get" else demo_env.client.post(path, json={})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer" and "credentials" in r.json()["detail"]


def test_bad_token_and_bad_scheme_are_401(demo_env: Any) -> None:
    r = demo_env.client.get("/api/v1/assets", headers={"Authorization": "Bearer agt_not-a-token"})
    assert r.status_code == 401 and "unknown" in r.json()["detail"]
    r = demo_env.client.get("/api/v1/assets", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


@pytest.mark.parametrize(("who", "method", "path", "body"), [
    ("station-1", "post", "/api/v1/assets/demo-001/reviews", {"expected_version": 1, "grade": "A"}),
    ("alice", "post", "/api/v1/telemetry", {"items": [{"kind": "features", "payload": {}}]}),
    ("alice", "get", "/api/v1/audit/events", None),
    ("alice", "get", "/api/v1/audit/verify", None),
    ("station-1", "get", "/api/v1/telemetry/summary", None),
    ("alice", "post", "/api/v1/tokens", {"name": "x", "role": "admin"}),
    ("alice", "post", "/api/v1/assets", {"id": "new-1"}),
])
def test_wrong_role_is_403(demo_env: Any, who: str, method: str, path: str, body: Any) -> None:
    if method == "get":
        r = demo_env.client.get(path, headers=demo_env.auth(who))
    else:
        r = demo_env.client.post(path, headers=demo_env.auth(who), json=body)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "PermissionDeniedError" and who in r.json()["detail"]


def test_revoked_token_stops_working(fresh_env: Any) -> None:
    env = fresh_env
    created = env.client.post("/api/v1/tokens", headers=env.auth("admin"), json={"name": "carol", "role": "reviewer"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("agt_")
    h = {"Authorization": f"Bearer {token}"}
    assert env.client.get("/api/v1/queue", headers=h).status_code == 200
    listed = env.client.get("/api/v1/tokens", headers=env.auth("admin")).json()
    assert "carol" in {t["name"] for t in listed} and all("token" not in t for t in listed)
    dup = env.client.post("/api/v1/tokens", headers=env.auth("admin"), json={"name": "carol", "role": "admin"})
    assert dup.status_code == 409
    assert env.client.delete("/api/v1/tokens/carol", headers=env.auth("admin")).status_code == 200
    r = env.client.get("/api/v1/queue", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_the_last_working_admin_token_cannot_be_revoked_through_the_api(fresh_env: Any) -> None:
    env = fresh_env
    alone = env.client.delete("/api/v1/tokens/admin", headers=env.auth("admin"))
    assert alone.status_code == 409 and "last admin token" in alone.json()["detail"]
    assert env.client.get("/api/v1/tokens", headers=env.auth("admin")).status_code == 200  # still works
    # an admin token that has expired does not count as a second one
    expired = env.client.post("/api/v1/tokens", headers=env.auth("admin"),
                              json={"name": "old-admin", "role": "admin", "expires_in_days": 1})
    with env.ws.session() as s:
        s.execute(update(ApiToken).where(ApiToken.name == "old-admin")
                  .values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    assert expired.status_code == 201
    assert env.client.delete("/api/v1/tokens/admin", headers=env.auth("admin")).status_code == 409
    # with a second working admin token, rotating your own is fine; the new admin can go on
    second = env.client.post("/api/v1/tokens", headers=env.auth("admin"), json={"name": "admin-2", "role": "admin"})
    h2 = {"Authorization": f"Bearer {second.json()['token']}"}
    assert env.client.delete("/api/v1/tokens/admin", headers=env.auth("admin")).status_code == 200
    assert env.client.get("/api/v1/tokens", headers=env.auth("admin")).status_code == 401
    assert env.client.delete("/api/v1/tokens/admin-2", headers=h2).status_code == 409
    assert env.client.delete("/api/v1/tokens/alice", headers=h2).status_code == 200  # other roles as before


def test_a_token_with_an_expiry_stops_working_then(fresh_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta

    from assetgrade.rest import auth

    env = fresh_env
    for bad in (0, -1, 40_000, "soon"):
        r = env.client.post("/api/v1/tokens", headers=env.auth("admin"),
                            json={"name": "dan", "role": "reviewer", "expires_in_days": bad})
        assert r.status_code == 422 and "expires_in_days" in r.text, (bad, r.text)
    created = env.client.post("/api/v1/tokens", headers=env.auth("admin"),
                              json={"name": "dan", "role": "reviewer", "expires_in_days": 30})
    assert created.status_code == 201
    expires = datetime.fromisoformat(created.json()["expires_at"])
    assert timedelta(days=29.9) < expires - auth.utcnow() <= timedelta(days=30)
    listed = {t["name"]: t for t in env.client.get("/api/v1/tokens", headers=env.auth("admin")).json()}
    assert datetime.fromisoformat(listed["dan"]["expires_at"]) == expires and listed["admin"]["expires_at"] is None
    h = {"Authorization": f"Bearer {created.json()['token']}"}
    assert env.client.get("/api/v1/queue", headers=h).status_code == 200  # now checked, and cached
    later = auth.utcnow() + timedelta(days=31)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    r = env.client.get("/api/v1/queue", headers=h)  # the cached principal expires on time too
    assert r.status_code == 401 and "'dan' expired at" in r.json()["detail"]
    assert env.client.get("/api/v1/queue", headers=env.auth("admin")).status_code == 200  # no expiry: works


def test_a_cached_token_expires_on_time_and_the_cli_sets_and_lists_expiry(
        fresh_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app
    from assetgrade.errors import ValidationError
    from assetgrade.rest import auth
    from assetgrade.rest.errors import AuthenticationError

    ws = fresh_env.ws
    with ws.session() as s:
        token, _ = auth.create_token(s, name="erin", role="station", expires_in_days=0.5)
        with pytest.raises(ValidationError, match="expires_in_days"):
            auth.create_token(s, name="frank", role="station", expires_in_days=float("nan"))
    cache = auth.TokenCache(3600.0)
    with ws.session(readonly=True) as s:
        assert auth.authenticate(s, auth.hash_token(token), cache).name == "erin"
        later = auth.utcnow() + timedelta(days=1)
        monkeypatch.setattr(auth, "utcnow", lambda: later)
        with pytest.raises(AuthenticationError, match="'erin' expired"):
            auth.authenticate(s, auth.hash_token(token), cache)  # cached, but expired: not served from the cache
    monkeypatch.undo()
    app, runner = build_app(), CliRunner()
    r = runner.invoke(app, ["tokens", "create", "-w", str(ws.path), "--role", "reviewer", "--name", "gina",
                            "--expires-in-days", "0"])
    assert isinstance(r.exception, ValidationError) and r.exception.where == "--expires-in-days"
    r = runner.invoke(app, ["tokens", "create", "-w", str(ws.path), "--role", "reviewer", "--name", "gina",
                            "--expires-in-days", "90"])
    assert r.exit_code == 0 and "expires 20" in r.output and r.output.strip().splitlines()[-1].startswith("agt_")
    r = runner.invoke(app, ["tokens", "list", "-w", str(ws.path)], env={"COLUMNS": "200"})
    line = next(x for x in r.output.splitlines() if "gina" in x)
    assert (auth.utcnow() + timedelta(days=90)).strftime("%Y-%m-%d") in line and "expired" not in line


def test_a_token_expires_on_time_through_a_service_with_a_token_cache(
        fresh_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own token cache (here an hour) does not keep an expired token working until the entry ages."""
    from fastapi.testclient import TestClient

    from assetgrade.rest import RestSettings, auth, create_app

    with fresh_env.ws.session() as s:
        token, _ = auth.create_token(s, name="hal", role="reviewer", expires_in_days=1)
    client = TestClient(create_app(fresh_env.ws, RestSettings(token_cache_s=3600.0, session_secret="t" * 32)))
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/queue", headers=h).status_code == 200  # checked, and now cached for an hour
    later = auth.utcnow() + timedelta(days=2)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    r = client.get("/api/v1/queue", headers=h)
    assert r.status_code == 401 and "'hal' expired at" in r.json()["detail"], r.text


def test_oversized_json_is_413(demo_env: Any) -> None:
    big = {"expected_version": 1, "note": "x" * (70 * 1024)}
    r = demo_env.client.post("/api/v1/assets/demo-001/reviews", headers=demo_env.auth("alice"), json=big)
    assert r.status_code == 413
    assert r.json()["error"] == "PayloadTooLargeError" and str(64 * 1024) in r.json()["detail"]


def test_oversized_chunked_body_is_413(demo_env: Any) -> None:
    def chunks() -> Any:
        for _ in range(80):
            yield b"x" * 1024

    r = demo_env.client.post("/api/v1/telemetry", headers={**demo_env.auth("station-1"),
                                                            "Content-Type": "application/json"}, content=chunks())
    assert r.status_code == 413


def _png(rng: np.random.Generator, w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def test_image_upload_limits_types_and_idempotence(fresh_env: Any, rng: np.random.Generator) -> None:
    env = fresh_env
    h = {**env.auth("station-1"), "Content-Type": "image/png"}
    small = _png(rng, 64, 48)
    r = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=small)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["kind"] == "image" and ev["media_type"] == "image/png" and ev["attributes"]["width"] == 64
    again = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=small)
    assert again.status_code == 201 and again.json()["id"] == ev["id"]
    upper = env.client.post("/api/v1/assets/demo-001/images", headers={**h, "Content-Type": "Image/PNG"}, content=small)
    assert upper.status_code == 201 and upper.json()["id"] == ev["id"], upper.text  # media types ignore case
    got = env.client.get(ev["content_url"], headers=env.auth("alice"))
    assert got.content == small
    assert ev["overlay_url"] is None  # new bytes: no prediction has a heat map of them yet
    from assetgrade.store.results import add_prediction

    with env.ws.session() as s:  # the asset is graded: its prediction drew a heat map on the uploaded photo
        add_prediction(s, "demo-001", model_version="m-test", grade="B", distribution={"A": 0.2, "B": 0.8},
                       conformal_set=["B"], decision="accept", payload={"overlays": {ev["id"]: ev["sha256"]}})
    listed = env.client.get(f"/api/v1/evidence/{ev['id']}", headers=env.auth("alice")).json()
    replay = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=small)
    assert replay.status_code == 201 and replay.json()["id"] == ev["id"]
    assert listed["overlay_url"] and replay.json()["overlay_url"] == listed["overlay_url"]  # answered as GET does
    big = _png(rng, 400, 400)  # ~480 KB of noise > the 256 KB test limit
    assert len(big) > 256 * 1024
    assert env.client.post("/api/v1/assets/demo-001/images", headers=h, content=big).status_code == 413
    broken = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=small[:100])
    assert broken.status_code == 422 and "upload to asset demo-001" in broken.json()["where"]
    wrong_type = env.client.post("/api/v1/assets/demo-001/images", headers={**h, "Content-Type": "text/plain"},
                                 content=b"hello")
    assert wrong_type.status_code == 422
    assert env.client.post("/api/v1/assets/nope/images", headers=h, content=small).status_code == 404


def test_create_asset_idempotent_and_conflict(fresh_env: Any) -> None:
    env = fresh_env
    h = env.auth("station-1")
    body = {"id": "press-9", "asset_type": "press"}
    assert env.client.post("/api/v1/assets", headers=h, json=body).status_code == 201
    assert env.client.post("/api/v1/assets", headers=h, json=body).status_code == 201
    r = env.client.post("/api/v1/assets", headers=h, json={"id": "press-9", "asset_type": "pump"})
    assert r.status_code == 409
    r = env.client.post("/api/v1/assets", headers=h, json={"id": "", "asset_type": "pump"})
    assert r.status_code == 422 and r.json()["where"]


def test_stored_bytes_never_run_as_a_page_of_the_service(fresh_env: Any, rng: np.random.Generator) -> None:
    from assetgrade.store.repository import add_evidence

    env = fresh_env
    page = b"<html><script>fetch('/api/v1/tokens',{method:'POST'})</script></html>"
    sha = env.ws.blobs.put_bytes(page)
    with env.ws.session() as s:  # a document ingested with the type its file claimed
        add_evidence(s, asset_id="demo-001", kind="document", sha256=sha, blob_sha=sha, media_type="text/html",
                     evidence_id="demo-001/document/report.html")
    r = env.client.get("/api/v1/evidence/demo-001/document/report.html/content", headers=env.auth("alice"))
    assert r.status_code == 200 and r.content == page
    assert r.headers["content-disposition"] == 'attachment; filename="report.html"'  # a download, not a page
    assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]
    h = {**env.auth("station-1"), "Content-Type": "image/png"}
    img = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=_png(rng, 32, 32)).json()
    shown = env.client.get(img["content_url"], headers=env.auth("alice"))
    assert "content-disposition" not in shown.headers and shown.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in shown.headers["content-security-policy"]


def test_an_uploaded_generated_image_is_stored_as_synthetic(fresh_env: Any, rng: np.random.Generator) -> None:
    from sqlalchemy import select

    from assetgrade.store.schema import Provenance
    from assetgrade.synth import generate

    env = fresh_env
    photo = Image.fromarray(rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8), "RGB")
    fake = generate("crack", photo, seed=1, parent_id="demo-001/image/x").to_png_bytes()
    h = {**env.auth("station-1"), "Content-Type": "image/png"}
    r = env.client.post("/api/v1/assets/demo-001/images", headers=h, content=fake)
    assert r.status_code == 201, r.text
    with env.ws.session(readonly=True) as s:
        pv = s.execute(select(Provenance).where(Provenance.evidence_id == r.json()["id"])).scalar_one()
    assert (pv.origin, pv.generator) == ("synthetic", "crack")  # a station's upload said real
    assert r.json()["origin"] == "synthetic"  # the 201 says what was stored, as GET /evidence/{id} does
    again = env.client.get(f"/api/v1/evidence/{r.json()['id']}", headers=env.auth("alice")).json()
    assert again["origin"] == "synthetic"
