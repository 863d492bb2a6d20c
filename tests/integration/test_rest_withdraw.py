"""Evidence withdrawal over the API: ``POST /evidence/{id}/withdraw`` (admin), the evidence routes marking a withdrawn
item, and an image upload of withdrawn bytes refused with the withdrawal named (store.md, "Withdrawn evidence")."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from assetgrade.store.audit import list_events, verify_chain


def _png(k: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (k, 2 * k % 256, 3 * k % 256)).save(buf, "PNG")
    return buf.getvalue()


def _evidence(env: Any, asset_id: str) -> list[dict[str, Any]]:
    r = env.client.get(f"/api/v1/assets/{quote(asset_id)}/evidence", headers=env.auth("alice"))
    assert r.status_code == 200, r.text
    return list(r.json())


def _withdraw(env: Any, evidence_id: str, body: Any, who: str = "admin") -> Any:
    return env.client.post(f"/api/v1/evidence/{quote(evidence_id)}/withdraw", json=body, headers=env.auth(who))


def test_admin_withdraws_an_item_and_the_evidence_routes_mark_it(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    items = _evidence(env, aid)
    assert len(items) >= 2 and all(it["withdrawn"] is None for it in items)
    target, kept = items[0]["id"], items[1]["id"]
    version = env.client.get(f"/api/v1/assets/{quote(aid)}", headers=env.auth("alice")).json()["version"]

    r = _withdraw(env, target, {"reason": "  pump-2's photo  "})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "withdrawn" and out["evidence_id"] == target and out["asset_id"] == aid
    assert out["withdrawn"]["reason"] == "pump-2's photo" and out["withdrawn"]["by"] == "admin"
    assert out["asset_version"] == version + 1
    assert env.client.get(f"/api/v1/assets/{quote(aid)}", headers=env.auth("alice")).json()["version"] == version + 1

    listed = {it["id"]: it for it in _evidence(env, aid)}
    assert listed[target]["withdrawn"] == out["withdrawn"]  # listed, marked: not as if in use
    assert listed[kept]["withdrawn"] is None
    one = env.client.get(f"/api/v1/evidence/{quote(target)}", headers=env.auth("station-1")).json()
    assert one["withdrawn"] == out["withdrawn"]
    assert env.client.get(f"/api/v1/evidence/{quote(kept)}", headers=env.auth("alice")).json()["withdrawn"] is None
    with env.ws.session(readonly=True) as s:
        ev = [e for e in list_events(s, action="evidence.withdraw") if e.entity_id == target]
        assert len(ev) == 1 and ev[0].actor == "admin" and ev[0].payload["reason"] == "pump-2's photo"
        assert verify_chain(s).ok


def test_by_names_who_decided_it_the_token_stays_the_actor(fresh_env: Any) -> None:
    env = fresh_env
    target = _evidence(env, env.assets[1].asset_id)[0]["id"]
    r = _withdraw(env, target, {"reason": "another machine's log", "by": "ana"})
    assert r.status_code == 201, r.text
    assert r.json()["withdrawn"]["by"] == "ana"
    with env.ws.session(readonly=True) as s:
        (ev,) = [e for e in list_events(s, action="evidence.withdraw") if e.entity_id == target]
    assert ev.actor == "admin" and ev.payload["by"] == "ana"


def test_an_item_withdrawn_before_is_answered_unchanged_with_its_first_withdrawal(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = _evidence(env, aid)[0]["id"]
    first = _withdraw(env, target, {"reason": "wrong pump"}).json()
    with env.ws.session(readonly=True) as s:
        n_events = verify_chain(s).n_events
    again = _withdraw(env, target, {"reason": "something else", "by": "bo"})
    assert again.status_code == 200, again.text
    out = again.json()
    assert out["status"] == "unchanged" and out["withdrawn"] == first["withdrawn"]
    assert out["asset_version"] == first["asset_version"]  # nothing written: the version stays
    with env.ws.session(readonly=True) as s:
        assert verify_chain(s).n_events == n_events


def test_an_unknown_id_is_404_naming_it(fresh_env: Any) -> None:
    r = _withdraw(fresh_env, "demo-001/image/no-such-item", {"reason": "x"})
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "NotFoundError"
    assert "'demo-001/image/no-such-item'" in r.json()["detail"] and "nothing was withdrawn" in r.json()["detail"]


@pytest.mark.parametrize("who", ["alice", "station-1"])
def test_only_an_admin_may_withdraw(fresh_env: Any, who: str) -> None:
    env = fresh_env
    target = _evidence(env, env.assets[0].asset_id)[0]["id"]
    r = _withdraw(env, target, {"reason": "wrong pump"}, who=who)
    assert r.status_code == 403, r.text
    assert "admin" in r.json()["detail"]
    assert all(it["withdrawn"] is None for it in _evidence(env, env.assets[0].asset_id))


@pytest.mark.parametrize(("body", "where", "words"), [
    ({"reason": ""}, "body.reason", "must not be empty"),
    ({"reason": "   "}, "body.reason", "must not be empty"),
    ({"reason": "wrong\npump"}, "body.reason", "control character U+000A at position 5"),
    ({"reason": "a" * 1001}, "body.reason", "1,001 characters; at most 1,000"),
    ({"reason": "x\u0000y"}, "body.reason", "NUL"),
    ({"reason": 5}, "body.reason", "valid string"),
    ({}, "body.reason", "Field required"),
    ({"reason": "ok", "by": "ana\tb"}, "body.by", "control character U+0009"),
    ({"reason": "ok", "by": "b" * 201}, "body.by", "at most 200"),
    ({"reason": "ok", "why": "x"}, "body.why", "Extra inputs"),
])
def test_a_bad_reason_or_name_is_422_naming_the_field(fresh_env: Any, body: Any, where: str, words: str) -> None:
    env = fresh_env
    target = _evidence(env, env.assets[0].asset_id)[0]["id"]
    r = _withdraw(env, target, body)
    assert r.status_code == 422, r.text
    assert r.json()["where"] == where, r.json()
    assert words in r.json()["reason"], r.json()
    if words != "NUL":  # the store's check speaks its own words (a NUL is the REST layer's text check, as ever)
        assert not r.json()["reason"].startswith("Value error"), r.json()
    assert all(it["withdrawn"] is None for it in _evidence(env, env.assets[0].asset_id))


def test_uploading_the_bytes_of_a_withdrawn_image_again_is_409_naming_the_withdrawal(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    h = {**env.auth("station-1"), "Content-Type": "image/png"}
    up = env.client.post(f"/api/v1/assets/{quote(aid)}/images", headers=h, content=_png(7))
    assert up.status_code == 201, up.text
    eid = up.json()["id"]
    assert _withdraw(env, eid, {"reason": "photo of pump-2"}).status_code == 201
    version = env.client.get(f"/api/v1/assets/{quote(aid)}", headers=env.auth("alice")).json()["version"]

    again = env.client.post(f"/api/v1/assets/{quote(aid)}/images", headers=h, content=_png(7))
    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert eid in detail and "the same content was withdrawn on " in detail, detail
    assert "by admin: photo of pump-2; stored nothing" in detail, detail
    assert env.client.get(f"/api/v1/assets/{quote(aid)}", headers=env.auth("alice")).json()["version"] == version
    assert {it["id"]: it["withdrawn"] is not None for it in _evidence(env, aid)}[eid]
    # other bytes, and the same bytes for another asset, are stored as ever
    assert env.client.post(f"/api/v1/assets/{quote(aid)}/images", headers=h, content=_png(8)).status_code == 201
    other = env.assets[1].asset_id
    assert env.client.post(f"/api/v1/assets/{quote(other)}/images", headers=h, content=_png(7)).status_code == 201


def test_the_route_is_in_the_openapi_document(demo_env: Any) -> None:
    doc = demo_env.client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/evidence/{evidence_id}/withdraw"]["post"]
    assert {"201", "200", "404", "422"} <= set(op["responses"])
    body = doc["components"]["schemas"]["WithdrawalIn"]
    assert body["required"] == ["reason"] and body["properties"]["reason"]["maxLength"] == 1000
    assert "withdrawn" in doc["components"]["schemas"]["EvidenceOut"]["properties"]
    assert "409" in doc["paths"]["/api/v1/assets/{asset_id}/images"]["post"]["responses"]


def test_on_postgresql(pg_ws: Any) -> None:
    """The route, the marks, the upload refusal and the asset page's list on PostgreSQL (a NUL in an id is no 500)."""
    from fastapi.testclient import TestClient

    from assetgrade.rest import create_app, create_token
    from assetgrade.rest.demo import seed_demo
    from assetgrade.web.helpers import asset_url

    from .conftest import SMALL_LIMITS, RestEnv

    assets = seed_demo(pg_ws, n_assets=2, seed=3)
    with pg_ws.session() as s:
        tokens = {name: create_token(s, name=name, role=role, actor="test")[0]
                  for name, role in (("admin", "admin"), ("alice", "reviewer"), ("station-1", "station"))}
    env = RestEnv(pg_ws, assets, tokens, TestClient(create_app(pg_ws, SMALL_LIMITS)))
    with env.client:
        aid = assets[0].asset_id
        target = _evidence(env, aid)[0]["id"]
        assert _withdraw(env, target, {"reason": "wrong pump", "by": "ana"}).status_code == 201
        again = _withdraw(env, target, {"reason": "other"})
        assert again.status_code == 200 and again.json()["withdrawn"]["by"] == "ana"
        assert {it["id"]: it["withdrawn"] for it in _evidence(env, aid)}[target]["reason"] == "wrong pump"
        nul = _withdraw(env, "demo-001/image/a\u0000b", {"reason": "x"})
        assert nul.status_code in (404, 422), nul.text
        h = {**env.auth("station-1"), "Content-Type": "image/png"}
        eid = env.client.post(f"/api/v1/assets/{quote(aid)}/images", headers=h, content=_png(9)).json()["id"]
        assert _withdraw(env, eid, {"reason": "pump-2's photo"}).status_code == 201
        refused = env.client.post(f"/api/v1/assets/{quote(aid)}/images", headers=h, content=_png(9))
        assert refused.status_code == 409 and "by admin: pump-2's photo" in refused.json()["detail"]
        page = env.login("alice").get(asset_url(aid)).text
        assert "2 items withdrawn" in page and "wrong pump" in page
