"""Hostile or odd input to the REST API and web UI: non-finite numbers, foreign ids, huge numbers, odd ids,
unknown routes; every error is one JSON body naming the field, and nothing is stored half-way."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

JSON = {"Content-Type": "application/json"}


def _post(env: Any, path: str, body: str, who: str) -> Any:
    return env.client.post(path, content=body, headers={**env.auth(who), **JSON})


def test_nan_and_infinity_are_refused_and_the_summary_keeps_working(fresh_env: Any) -> None:
    env = fresh_env
    r = _post(env, "/api/v1/telemetry", '{"items":[{"kind":"prediction","payload":{"grade":NaN}}]}', "station-1")
    assert r.status_code == 422 and r.json()["where"] == "body.items.0.payload"
    assert "payload.grade" not in r.json()["detail"] and "grade" in r.json()["detail"]
    r = _post(env, "/api/v1/telemetry", '{"items":[{"kind":"features","payload":{"x":[1, Infinity]}}]}',
              "station-1")
    assert r.status_code == 422 and "x[1]" in r.json()["detail"]
    r = _post(env, "/api/v1/assets", '{"id":"nan-asset","value":NaN}', "admin")
    assert r.status_code == 422 and r.json()["where"] == "body.value"
    r = _post(env, "/api/v1/assets", '{"id":"big","attributes":{"hours":1e400}}', "admin")
    assert r.status_code == 422 and "hours" in r.json()["detail"]
    a = env.assets[0]
    r = _post(env, f"/api/v1/assets/{a.asset_id}/reviews",
              '{"expected_version":1,"grade":"B","defects":[{"id":"crack","box":[NaN,0,Infinity,5]}]}', "alice")
    assert r.status_code == 422 and r.json()["where"].startswith("body.defects.0.box")
    assert env.client.get("/api/v1/assets/nan-asset", headers=env.auth("admin")).status_code == 404
    assert env.client.get(f"/api/v1/assets/{a.asset_id}/reviews", headers=env.auth("alice")).json() == []
    ok = _post(env, "/api/v1/telemetry", '{"items":[{"kind":"prediction","payload":{"grade":"B"}}]}', "station-1")
    assert ok.status_code == 201
    summary = env.client.get("/api/v1/telemetry/summary", headers=env.auth("admin"))
    assert summary.status_code == 200 and summary.json()[0]["grade_mix"] == {"B": 1}


def test_the_store_writes_nan_from_library_code_as_json_null(fresh_env: Any) -> None:
    from sqlalchemy import text

    from assetgrade.store.auth_schema import TelemetryRecord
    from assetgrade.store.repository import add_asset

    env = fresh_env
    with env.ws.session() as s:
        add_asset(s, "lib-1", attributes={"hours": float("nan"), "runs": [1.0, float("inf")]})
        s.add(TelemetryRecord(station="lib", kind="prediction", payload={"grade": float("nan")}))
    with env.ws.session(readonly=True) as s:
        raw = s.execute(text("select attributes from assets where id = 'lib-1'")).scalar_one()
    assert "NaN" not in str(raw) and "Infinity" not in str(raw)
    a = env.client.get("/api/v1/assets/lib-1", headers=env.auth("admin")).json()
    assert a["attributes"] == {"hours": None, "runs": [1.0, None]}
    assert env.client.get("/api/v1/telemetry/summary", headers=env.auth("admin")).status_code == 200
    assert env.client.get("/api/v1/audit/verify", headers=env.auth("admin")).json()["ok"] is True


def test_a_review_can_only_rest_on_a_prediction_of_its_own_asset(fresh_env: Any) -> None:
    env = fresh_env
    first, second = env.assets[0], env.assets[1]
    path = f"/api/v1/assets/{second.asset_id}/reviews"
    for pred, why in (("pred_doesnotexist", "no such prediction"), (first.prediction_id, first.asset_id)):
        r = env.client.post(path, json={"expected_version": 1, "grade": "B", "based_on_prediction_id": pred},
                            headers=env.auth("alice"))
        assert r.status_code == 422 and r.json()["where"] == "based_on_prediction_id" and why in r.json()["detail"]
    assert env.client.get(path, headers=env.auth("alice")).json() == []  # nothing stored, version unchanged
    r = env.client.post(path, json={"expected_version": 1, "grade": "B", "based_on_prediction_id":
                                    second.prediction_id}, headers=env.auth("alice"))
    assert r.status_code == 201 and r.json()["based_on_prediction_id"] == second.prediction_id


def test_numbers_beyond_the_store_and_bad_json_are_422_naming_the_field(fresh_env: Any) -> None:
    env = fresh_env
    big = 2**63
    for path in (f"/api/v1/assets?offset={big}", f"/api/v1/queue?offset={big}", f"/api/v1/queue?limit={big}",
                 f"/api/v1/review/requests?offset={big}", f"/api/v1/audit/events?after_seq={big}",
                 f"/api/v1/telemetry?after_id={big}"):
        r = env.client.get(path, headers=env.auth("admin"))
        assert r.status_code == 422 and r.json()["error"] == "ValidationError", path
    r = env.client.post(f"/api/v1/assets/{env.assets[0].asset_id}/reviews", json={"expected_version": big},
                        headers=env.auth("alice"))
    assert r.status_code == 422 and r.json()["where"] == "body.expected_version"
    assert env.client.get(f"/ui/queue?offset={big}", cookies=None).status_code in (200, 303)
    r = _post(env, "/api/v1/assets", '{"id": "x",', "admin")
    assert r.status_code == 422 and r.json()["where"] == "body" and "not valid JSON at character" in r.json()["detail"]


def test_credentials_are_checked_before_the_body_is_judged(fresh_env: Any) -> None:
    env = fresh_env
    for headers in ({}, {"Authorization": "Bearer agt_not-a-token"}):
        r = env.client.post("/api/v1/assets", content='{"id": "x",', headers={**headers, **JSON})
        assert r.status_code == 401 and r.json()["error"] == "AuthenticationError", headers
        assert r.headers["www-authenticate"] == "Bearer"
        r = env.client.post(f"/api/v1/assets/{env.assets[0].asset_id}/reviews", headers=headers)  # no body
        assert r.status_code == 401, headers


def test_unknown_routes_wrong_methods_and_crashes_answer_one_json_error_body(fresh_env: Any) -> None:
    env = fresh_env
    r = env.client.get("/api/v1/nothing-here", headers=env.auth("admin"))
    assert r.status_code == 404 and r.json() == {"error": "NotFound", "detail": "no such path: /api/v1/nothing-here"}
    r = env.client.put("/api/v1/tokens", headers=env.auth("admin"))
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed" and "PUT" in r.json()["detail"]
    assert "GET" in r.headers["allow"]
    html = env.login("alice").get("/ui/nothing-here")
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    html = env.client.get("/ui/queue?limit=abc")  # a request-schema error under /ui is an HTML page too
    assert html.status_code == 422 and html.headers["content-type"].startswith("text/html") and "limit" in html.text


def test_ids_the_api_could_not_address_are_refused_and_odd_ids_are_encoded(fresh_env: Any) -> None:
    env = fresh_env
    h = env.auth("admin")
    for bad in ("pump/reviews", "pump/evidence", "pump/grade"):
        r = env.client.post("/api/v1/assets", json={"id": bad}, headers=h)
        assert r.status_code == 422 and r.json()["where"] == "id" and "sub-resource" not in r.json()["detail"]
        assert f"/assets/<id>/{bad.split('/')[1]}" in r.json()["detail"]
    r = env.client.post("/api/v1/assets", json={"id": "   "}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "id"
    assert env.client.post("/api/v1/assets", json={"id": "q?a=1#x"}, headers=h).status_code == 201
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 90, 90)).save(buf, format="PNG")
    r = env.client.post("/api/v1/assets/q%3Fa%3D1%23x/images", content=buf.getvalue(),
                        headers={**h, "Content-Type": "image/png"})
    assert r.status_code == 201, r.text
    url = r.json()["content_url"]
    assert "?" not in url and "#" not in url and "%3F" in url
    got = env.client.get(url, headers=h)
    assert got.status_code == 200 and got.content == buf.getvalue()
    etag = got.headers["etag"]
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        assert env.client.get(url, headers={**h, "If-None-Match": header}).status_code == 304, header
    assert env.client.get(url, headers={**h, "If-None-Match": '"other"'}).status_code == 200
    r = env.client.post("/api/v1/tokens", json={"name": "line/3", "role": "reviewer"}, headers=h)
    assert r.status_code == 201
    assert env.client.delete("/api/v1/tokens/line/3", headers=h).json()["revoked_at"] is not None
    r = env.client.post("/api/v1/tokens", json={"name": "line/3", "role": "reviewer"}, headers=h)
    assert r.status_code == 409 and "revoked token keeps its name" in r.json()["detail"]


def test_ui_entry_points_login_keeps_the_query_and_docs_are_served_locally(fresh_env: Any) -> None:
    env = fresh_env
    for path in ("/ui", "/ui/", "/"):
        r = env.client.get(path, follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/ui/queue", path
    env.client.cookies.clear()
    r = env.client.get("/ui/requests?job=abc&offset=5", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/requests%3Fjob%3Dabc%26offset%3D5"
    page = env.login("alice").get("/ui/queue?offset=-5&limit=2").text
    assert "offset=2&amp;limit=2" in page or "offset=2&limit=2" in page  # next page starts at 2, not -3
    docs = env.client.get("/docs")
    assert docs.status_code == 200 and "cdn." not in docs.text and "/docs-assets/swagger-ui-bundle.js" in docs.text
    js = env.client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_a_series_that_cannot_be_plotted_is_named_escaped(fresh_env: Any) -> None:
    from assetgrade.store.repository import add_evidence

    env = fresh_env
    sha = env.ws.blobs.put_bytes(b"not a parquet file")
    evil = "<img src=x onerror=alert(1)>"
    with env.ws.session() as s:
        add_evidence(s, asset_id=env.assets[0].asset_id, kind="series", blob_sha=sha, sha256=sha, evidence_id=evil)
    page = env.login("alice").get(f"/ui/assets/{env.assets[0].asset_id}").text
    assert "cannot plot series &lt;img src=x onerror=alert(1)&gt;: its stored file is damaged" in page
    assert evil not in page
    gone = env.ws.blobs.put_bytes(b"another series")
    with env.ws.session() as s:
        add_evidence(s, asset_id=env.assets[0].asset_id, kind="series", blob_sha=gone, sha256=gone, evidence_id="s-2")
    Path(env.ws.blobs.path_for(gone)).unlink()  # lost from the store
    page = env.login("alice").get(f"/ui/assets/{env.assets[0].asset_id}").text
    assert "cannot plot series s-2: its stored file is missing from the blob store" in page
    assert gone not in page and str(env.ws.path) not in page  # neither the blob's name nor the server's paths
