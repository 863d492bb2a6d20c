"""REST telemetry (station posts, per-station summary, retries accepted once) and audit events (list, verify)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from assetgrade.store.schema import AuditEvent


def test_station_posts_telemetry_and_admin_reads_summary(fresh_env: Any) -> None:
    env = fresh_env
    st = env.auth("station-1")
    items = [{"kind": "prediction", "asset_id": f"edge-{i}", "payload": {"grade": "AB"[i % 2], "confidence": 0.8}}
             for i in range(5)] + [{"kind": "features", "payload": {"mean_brightness": 0.4, "n": 200}}]
    r = env.client.post("/api/v1/telemetry", headers=st, json={"batch_id": "b-1", "items": items})
    assert r.status_code == 201 and r.json()["accepted"] == 6 and r.json()["station"] == "station-1"
    retry = env.client.post("/api/v1/telemetry", headers=st, json={"batch_id": "b-1", "items": items})
    assert retry.status_code == 201 and retry.json()["accepted"] == 0
    assert retry.json()["first_id"] == r.json()["first_id"]
    summary = env.client.get("/api/v1/telemetry/summary", headers=env.auth("admin")).json()
    assert summary == [{"station": "station-1", "n_predictions": 5, "n_features": 1,
                        "first_received": summary[0]["first_received"], "last_received": summary[0]["last_received"],
                        "grade_mix": {"A": 3, "B": 2}}]
    rows = env.client.get("/api/v1/telemetry?station=station-1&kind=features", headers=env.auth("admin")).json()
    assert len(rows) == 1 and rows[0]["payload"]["n"] == 200
    other = env.client.post("/api/v1/telemetry", headers=st, json={"station": "station-2", "items": items[:1]})
    assert other.status_code == 403
    events = env.client.get("/api/v1/audit/events?action=telemetry.add", headers=env.auth("admin")).json()["items"]
    assert len(events) == 1 and events[0]["actor"] == "station-1" and events[0]["payload"]["n"] == 6


def test_telemetry_schema_errors_are_422(fresh_env: Any) -> None:
    env = fresh_env
    r = env.client.post("/api/v1/telemetry", headers=env.auth("station-1"), json={"items": [{"kind": "weird",
                                                                                             "payload": {}}]})
    assert r.status_code == 422 and r.json()["where"].startswith("body.items.0.kind")
    r = env.client.post("/api/v1/telemetry", headers=env.auth("station-1"), json={"items": []})
    assert r.status_code == 422


def test_audit_events_page_and_verify_detects_edit(fresh_env: Any) -> None:
    env = fresh_env
    h = env.auth("admin")
    env.client.post("/api/v1/assets", headers=env.auth("station-1"), json={"id": "new-asset"})
    page = env.client.get("/api/v1/audit/events?limit=5", headers=h).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3, 4, 5] and page["next_after_seq"] == 5
    nxt = env.client.get("/api/v1/audit/events?after_seq=5&limit=5", headers=h).json()
    assert nxt["items"][0]["seq"] == 6
    mine = env.client.get("/api/v1/audit/events?actor=station-1&limit=100", headers=h).json()["items"]
    assert [(e["action"], e["entity_id"]) for e in mine] == [("asset.add", "new-asset")]
    ok = env.client.get("/api/v1/audit/verify", headers=h).json()
    assert ok["ok"] and ok["n_events"] > 10
    with env.ws.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    bad = env.client.get("/api/v1/audit/verify", headers=h).json()
    assert not bad["ok"] and bad["first_bad_seq"] == 3


def test_a_damaged_audit_row_is_named_not_a_crash(fresh_env: Any) -> None:
    from sqlalchemy import text

    env = fresh_env
    h = env.auth("admin")
    with env.ws.session() as s:
        s.execute(text("UPDATE audit_events SET payload = '{not json' WHERE seq = 4"))
    r = env.client.get("/api/v1/audit/events?limit=10", headers=h)
    assert r.status_code == 503 and r.json()["error"] == "StoreError" and "audit verify" in r.json()["detail"]
    assert env.client.get("/api/v1/audit/events?after_seq=4&limit=3", headers=h).status_code == 200
    bad = env.client.get("/api/v1/audit/verify", headers=h).json()
    assert not bad["ok"] and bad["first_bad_seq"] == 4
