"""More hostile input to the REST API: text JSON cannot carry, bodies the parser cannot read, paths in
error bodies, a store that is gone, HEAD on every read, odd ids and precondition types."""

from __future__ import annotations

from typing import Any

JSON = {"Content-Type": "application/json"}


def _post(env: Any, path: str, body: bytes, who: str) -> Any:
    return env.client.post(path, content=body, headers={**env.auth(who), **JSON})


def test_a_lone_surrogate_in_a_free_form_object_is_refused_not_stored(fresh_env: Any) -> None:
    env = fresh_env
    r = _post(env, "/api/v1/telemetry", rb'{"items":[{"kind":"features","payload":{"x":["ok","\ud800"]}}]}',
              "station-1")
    assert r.status_code == 422 and r.json()["where"] == "body.items.0.payload", r.text
    assert "x[1]" in r.json()["detail"] and "surrogate" in r.json()["detail"]
    r = _post(env, "/api/v1/telemetry", rb'{"items":[{"kind":"features","payload":{"a":{"\udc00":1}}}]}',
              "station-1")
    assert r.status_code == 422 and "key in a" in r.json()["detail"], r.text
    r = _post(env, "/api/v1/assets", rb'{"id":"sur-1","attributes":{"serial":"\ud83d"}}', "admin")
    assert r.status_code == 422 and r.json()["where"] == "body.attributes" and "serial" in r.json()["detail"]
    assert env.client.get("/api/v1/assets/sur-1", headers=env.auth("admin")).status_code == 404
    listed = env.client.get("/api/v1/telemetry", headers=env.auth("admin"))
    assert listed.status_code == 200 and listed.json() == []
    ok = _post(env, "/api/v1/telemetry", '{"items":[{"kind":"features","payload":{"x":"\U0001f600 ok"}}]}'.encode(),
               "station-1")  # a character outside the BMP, sent as UTF-8, is fine
    assert ok.status_code == 201
    assert env.client.get("/api/v1/telemetry", headers=env.auth("admin")).json()[0]["payload"] == {"x": "\U0001f600 ok"}


def test_error_bodies_name_places_in_the_workspace_not_the_servers_paths(fresh_env: Any) -> None:
    from pathlib import Path

    env = fresh_env
    h = env.auth("admin")
    a = env.assets[0].asset_id
    secret = str(env.ws.path)
    r = env.client.post(f"/api/v1/assets/{a}/grade", headers=h)  # no trained grader in this workspace
    assert r.status_code == 404 and "<workspace>/models/grader" in r.json()["detail"] and "assetgrade train" in r.text
    assert secret not in r.text
    assert env.client.get("/api/v1/model", headers=h).status_code == 404
    assert secret not in env.client.get("/api/v1/model", headers=h).text
    image = next(e for e in env.client.get(f"/api/v1/assets/{a}/evidence", headers=h).json() if e["kind"] == "image")
    Path(env.ws.blobs.path_for(image["sha256"])).unlink()  # the blob is lost from the store
    r = env.client.get(image["content_url"], headers=h)
    assert r.status_code == 404 and image["sha256"] in r.json()["detail"] and "<blob store>" in r.json()["detail"]
    assert secret not in r.text


def test_a_store_that_is_gone_or_damaged_answers_503_and_health_says_so(fresh_env: Any) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    env = fresh_env
    h = env.auth("admin")
    assert env.client.get("/api/v1/health").status_code == 200
    db = Path(str(make_url(env.ws.store_url).database))
    env.ws.engine.dispose()
    for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        f.unlink(missing_ok=True)  # deleted under the running service: SQLite opens an empty file instead
    for method, path in (("GET", "/api/v1/assets"), ("GET", f"/api/v1/assets/{env.assets[0].asset_id}"),
                         ("GET", "/api/v1/health")):
        r = env.client.request(method, path, headers=h)
        assert r.status_code == 503 and r.json()["error"] == "StoreError", (path, r.text)
        assert str(env.ws.path) not in r.text and "Traceback" not in r.text
    env.ws.engine.dispose()
    db.write_bytes(b"this is not a database" * 100)  # damaged
    r = env.client.post("/api/v1/assets", json={"id": "x"}, headers=h)
    assert r.status_code == 503 and "try again later" in r.json()["detail"], r.text
    assert env.client.get("/api/v1/health").status_code == 503


def test_a_body_the_json_parser_gives_up_on_is_422_naming_the_body_after_the_token_check(fresh_env: Any) -> None:
    env = fresh_env
    deep = b'{"id": "deep", "attributes": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}"
    for body, why in ((deep, "nested too deeply"), (b'{"id": "n", "attributes": {"n": ' + b"9" * 5000 + b"}}",
                                                     "too many digits"),
                      (b'{"id": "caf\xe9"}', "not UTF-8 text (byte 11)")):
        r = env.client.post("/api/v1/assets", content=body, headers={**env.auth("admin"), **JSON})
        assert r.status_code == 422, (why, r.text)
        assert r.json()["error"] == "ValidationError" and r.json()["where"] == "body" and why in r.json()["detail"]
        r = env.client.post("/api/v1/assets", content=body, headers=JSON)  # no token: told that first
        assert r.status_code == 401 and r.json()["error"] == "AuthenticationError", (why, r.text)
    assert env.client.get("/api/v1/assets?q=deep", headers=env.auth("admin")).json()["total"] == 0


def test_head_answers_like_get_on_every_api_read_without_a_body(fresh_env: Any) -> None:
    env = fresh_env
    h = env.auth("admin")
    a = env.assets[0].asset_id
    r = env.client.head("/api/v1/health")  # what uptime monitors send
    assert r.status_code == 200 and r.content == b"" and r.headers["content-type"] == "application/json"
    for path in ("/api/v1/assets?limit=2", f"/api/v1/assets/{a}", f"/api/v1/assets/{a}/reviews",
                 f"/api/v1/assets/{a}/evidence", "/api/v1/queue", "/api/v1/audit/events"):
        got = env.client.get(path, headers=h)
        head = env.client.head(path, headers=h)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-length"] == got.headers["content-length"], path
    assert env.client.head("/api/v1/assets/no-such-asset", headers=h).status_code == 404
    assert env.client.head(f"/api/v1/assets/{a}").status_code == 401  # no token: still refused
    assert env.client.head("/api/v1/audit/events", headers=env.auth("alice")).status_code == 403
    paths = env.client.get("/openapi.json").json()["paths"]
    assert not any("head" in ops for p, ops in paths.items() if not p.startswith("/api/v1/evidence/")), paths


def test_a_damaged_grader_is_the_servers_fault_503_not_a_422(trained_env: Any) -> None:
    import shutil

    env = trained_env
    h = env.auth("admin")
    pickle = env.ws.grader_dir / "grader.pkl"
    intact = pickle.read_bytes()
    pickle.write_bytes(intact[: len(intact) // 2])  # half-copied before the service loaded it
    for method, path in (("POST", "/api/v1/assets/new-01/grade"), ("GET", "/api/v1/model")):
        r = env.client.request(method, path, headers=h)
        assert r.status_code == 503 and r.json()["error"] == "StoreError", (path, r.text)
        assert "does not match the sha256" in r.json()["detail"] and "assetgrade train" in r.json()["detail"]
        assert str(env.ws.path) not in r.text
    pickle.unlink()
    r = env.client.get("/api/v1/model", headers=h)
    assert r.status_code == 503 and "a file of the saved grader is missing" in r.json()["detail"], r.text
    (env.ws.grader_dir / "bundle.json").write_text("{not json", encoding="utf-8")
    assert env.client.get("/api/v1/model", headers=h).status_code == 503
    pickle.write_bytes(intact)
    shutil.rmtree(env.ws.grader_dir)  # no grader at all: still the documented 404 saying to train
    r = env.client.post("/api/v1/assets/new-01/grade", headers=h)
    assert r.status_code == 404 and "assetgrade train" in r.json()["detail"]


def test_a_json_body_sent_with_another_content_type_is_told_which_to_send(fresh_env: Any) -> None:
    env = fresh_env
    for ctype in ("application/x-www-form-urlencoded", "text/plain"):  # curl -d sends the first
        r = env.client.post("/api/v1/assets", content=b'{"id": "ct-1"}', headers={**env.auth("admin"),
                                                                                "Content-Type": ctype})
        assert r.status_code == 422 and r.json()["where"] == "body", r.text
        assert "Content-Type: application/json" in r.json()["detail"] and ctype in r.json()["detail"]
    r = env.client.post("/api/v1/assets", content=b"[1, 2]", headers={**env.auth("admin"), **JSON})
    assert r.status_code == 422 and "Content-Type" not in r.json()["detail"]  # JSON, just not an object
    assert env.client.post("/api/v1/assets", content=b'{"id": "ct-1"}',
                           headers={"Content-Type": "text/plain"}).status_code == 401


def test_a_damaged_grader_asked_for_a_round_is_503_like_grading_and_the_settings_are_judged_first(
        trained_env: Any) -> None:
    env = trained_env
    h = env.auth("admin")
    secret = str(env.ws.path)
    state = env.client.app.state.assetgrade
    pickle, info = env.ws.grader_dir / "grader.pkl", env.ws.grader_dir / "bundle.json"
    intact, intact_info = pickle.read_bytes(), info.read_text(encoding="utf-8")
    pickle.write_bytes(intact[: len(intact) // 2])  # half-copied
    r = env.client.post("/api/v1/review/requests", json={"k": 3}, headers=h)
    assert r.status_code == 503 and r.json()["error"] == "StoreError", r.text
    assert "does not match the sha256" in r.json()["detail"] and "assetgrade train" in r.json()["detail"]
    assert "<workspace>/models/grader" in r.text and secret not in r.text
    r = env.client.post("/api/v1/review/requests", json={"strategy": "oracle"}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "strategy"  # the client's own fault comes first
    # in the background the job finds the damage: its error names places in the workspace too
    r = env.client.post("/api/v1/review/requests?wait=false", json={"k": 3}, headers=h)
    assert r.status_code == 202, r.text
    state.rounds().wait(r.json()["job_id"], timeout=120)
    job = env.client.get(r.json()["url"], headers=h)
    assert job.json()["status"] == "failed" and "<workspace>/models/grader" in job.json()["error"], job.text
    assert secret not in job.text
    pickle.unlink()
    r = env.client.post("/api/v1/review/requests", json={"k": 3}, headers=h)
    assert r.status_code == 503 and "a file of the saved grader is missing" in r.json()["detail"], r.text
    pickle.write_bytes(intact)
    info.write_text("{not json", encoding="utf-8")
    queued = env.client.get("/api/v1/audit/events?action=review.round_queued", headers=h).json()["items"]
    for url in ("/api/v1/review/requests", "/api/v1/review/requests?wait=false"):
        r = env.client.post(url, json={"k": 3}, headers=h)
        assert r.status_code == 503 and r.json()["error"] == "StoreError" and secret not in r.text, (url, r.text)
    assert env.client.get("/api/v1/audit/events?action=review.round_queued", headers=h).json()["items"] == queued
    assert env.client.get("/api/v1/review/requests", headers=h).json()["total"] == 0
    info.write_text(intact_info, encoding="utf-8")
    r = env.client.post("/api/v1/review/requests", json={"k": 3}, headers=h)
    assert r.status_code == 201 and len(r.json()["added"]) == 3, r.text


def test_numbers_and_flags_of_write_bodies_take_their_json_type_only(fresh_env: Any) -> None:
    import json

    env = fresh_env
    h = env.auth("admin")
    a = env.assets[0].asset_id
    version = env.client.get(f"/api/v1/assets/{a}", headers=h).json()["version"]
    review = {"grade": "B", "expected_version": version}
    # lax parsing took true as 1 and "1" as 1: a client's type bug went through as a real version
    for field, body, url in (
        ("expected_version", {**review, "expected_version": True}, f"/api/v1/assets/{a}/reviews"),
        ("expected_version", {**review, "expected_version": str(version)}, f"/api/v1/assets/{a}/reviews"),
        ("expected_version", {**review, "expected_version": float(version)}, f"/api/v1/assets/{a}/reviews"),
        ("defects.0.box.0", {**review, "defects": [{"id": "dent", "box": ["1", 2, 3, 4]}]},
         f"/api/v1/assets/{a}/reviews"),
        ("value", {"id": "strict-1", "value": True}, "/api/v1/assets"),
        ("value", {"id": "strict-1", "value": "12.5"}, "/api/v1/assets"),
        ("expires_in_days", {"name": "dan", "role": "reviewer", "expires_in_days": True}, "/api/v1/tokens"),
        ("k", {"k": "3"}, "/api/v1/review/requests"),
        ("k", {"k": True}, "/api/v1/review/requests"),
        ("seed", {"seed": "0"}, "/api/v1/review/requests"),
        ("per_class", {"per_class": True}, "/api/v1/review/requests"),
        ("replace", {"replace": 1}, "/api/v1/review/requests"),
        ("replace", {"replace": "yes"}, "/api/v1/review/requests"),
    ):
        r = env.client.post(url, json=body, headers=h)
        assert r.status_code == 422 and r.json()["where"] == f"body.{field}", (field, body, r.text)
        sent = body
        for part in field.split("."):
            sent = sent[int(part)] if isinstance(sent, list) else sent[part]
        assert r.json()["detail"].endswith(f", not {json.dumps(sent)}"), r.text  # says what came
    assert env.client.get(f"/api/v1/assets/{a}/reviews", headers=h).json() == []
    assert env.client.get("/api/v1/assets/strict-1", headers=h).status_code == 404
    # the JSON types asked for pass: an integer where a number is asked too
    assert env.client.post("/api/v1/assets", json={"id": "strict-1", "value": 12}, headers=h).status_code == 201
    r = env.client.post(f"/api/v1/assets/{a}/reviews", json={**review, "note": "ok"}, headers=h)
    assert r.status_code == 201 and r.json()["asset_version"] == version + 1, r.text
