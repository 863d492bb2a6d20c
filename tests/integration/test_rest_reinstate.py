"""Reinstatement over the API: ``POST /evidence/{id}/reinstate`` (admin) undoes a withdrawal; the evidence routes
follow the latest action (store.md, "Withdrawn evidence")."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from assetgrade.store import add_evidence
from assetgrade.store.audit import list_events, verify_chain
from assetgrade.store.withdrawals import withdraw_evidence


def _evidence(env: Any, asset_id: str) -> dict[str, Any]:
    r = env.client.get(f"/api/v1/assets/{quote(asset_id)}/evidence", headers=env.auth("alice"))
    assert r.status_code == 200, r.text
    return {it["id"]: it["withdrawn"] for it in r.json()}


def _post(env: Any, evidence_id: str, verb: str, body: Any, who: str = "admin") -> Any:
    return env.client.post(f"/api/v1/evidence/{quote(evidence_id)}/{verb}", json=body, headers=env.auth(who))


def test_admin_reinstates_an_item_then_withdraws_it_again(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = next(iter(_evidence(env, aid)))
    first = _post(env, target, "withdraw", {"reason": "pump-2's photo"}).json()
    r = _post(env, target, "reinstate", {"reason": "  it is this pump's  ", "by": "ana"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["status"], out["evidence_id"], out["asset_id"]) == ("reinstated", target, aid)
    assert out["reinstated"]["reason"] == "it is this pump's" and out["reinstated"]["by"] == "ana"
    assert out["ended"] == first["withdrawn"] and out["asset_version"] == first["asset_version"] + 1
    assert _evidence(env, aid)[target] is None
    with env.ws.session(readonly=True) as s:
        (ev,) = [e for e in list_events(s, action="evidence.reinstate") if e.entity_id == target]
        assert ev.actor == "admin" and ev.payload["by"] == "ana" and verify_chain(s).ok
    # not withdrawn now: 200, unchanged, nothing written
    again = _post(env, target, "reinstate", {"reason": "again"})
    assert again.status_code == 200 and again.json()["status"] == "unchanged" and again.json()["ended"] is None
    assert again.json()["asset_version"] == out["asset_version"]
    # withdrawn a second time: a new withdrawal, listed as such
    second = _post(env, target, "withdraw", {"reason": "no, pump-2's after all"})
    assert second.status_code == 201 and second.json()["withdrawn"]["reason"] == "no, pump-2's after all"
    assert _evidence(env, aid)[target] == second.json()["withdrawn"]


def test_an_unknown_id_is_404_and_a_superseded_item_with_a_live_successor_is_409(fresh_env: Any) -> None:
    env = fresh_env
    r = _post(env, "demo-001/image/no-such-item", "reinstate", {"reason": "x"})
    assert r.status_code == 404 and "nothing was reinstated" in r.json()["detail"]
    aid = env.assets[0].asset_id
    with env.ws.session() as s:  # as ingest --supersede stores a newer export and withdraws the stored item
        add_evidence(s, asset_id=aid, kind="log", sha256="1" * 64, text="old", evidence_id="src-log")
        add_evidence(s, asset_id=aid, kind="log", sha256="2" * 64, text="new", evidence_id="src-log-v2",
                     attributes={"source_item": "src-log", "supersedes": "src-log"})
        withdraw_evidence(s, ["src-log"], reason="superseded by src-log-v2 from a.csv", by="ingest")
    r = _post(env, "src-log", "reinstate", {"reason": "old was right"})
    assert r.status_code == 409, r.text
    assert "withdraw 'src-log-v2' first" in r.json()["detail"]
    assert _evidence(env, aid)["src-log"] is not None


@pytest.mark.parametrize("who", ["alice", "station-1"])
def test_only_an_admin_may_reinstate(fresh_env: Any, who: str) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = next(iter(_evidence(env, aid)))
    _post(env, target, "withdraw", {"reason": "wrong pump"})
    r = _post(env, target, "reinstate", {"reason": "undo"}, who=who)
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert _evidence(env, aid)[target] is not None


def test_a_bad_reason_or_name_is_422(fresh_env: Any) -> None:
    env = fresh_env
    target = next(iter(_evidence(env, env.assets[0].asset_id)))
    r = _post(env, target, "reinstate", {"reason": "a\nb"})
    assert r.status_code == 422 and "U+000A" in r.text
    r = _post(env, target, "reinstate", {"reason": "ok", "by": "x" * 201})
    assert r.status_code == 422 and "who reinstates" in r.text


def test_the_route_is_in_the_openapi_document(fresh_env: Any) -> None:
    op = fresh_env.client.get("/openapi.json").json()["paths"]["/api/v1/evidence/{evidence_id}/reinstate"]["post"]
    assert set(op["responses"]) >= {"200", "201", "404", "409"} and "admin" in op["summary"]
