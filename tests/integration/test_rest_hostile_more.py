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
