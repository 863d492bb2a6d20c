"""REST reads: assets (filters, paging), evidence (metadata, bytes, heat map), grades, queue order, ontology."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image


def test_health_needs_no_token(demo_env: Any) -> None:
    r = demo_env.client.get("/api/v1/health")
    assert r.status_code == 200
    from assetgrade.store.engine import head_revision

    assert r.json() == {"status": "ok", "schema_revision": head_revision()}


def test_openapi_lists_every_resource(demo_env: Any) -> None:
    spec = demo_env.client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for p in ("/api/v1/assets", "/api/v1/assets/{asset_id}", "/api/v1/queue", "/api/v1/assets/{asset_id}/reviews",
              "/api/v1/evidence/{evidence_id}/content", "/api/v1/evidence/{evidence_id}/overlay",
              "/api/v1/ontology", "/api/v1/telemetry", "/api/v1/telemetry/summary", "/api/v1/audit/events",
              "/api/v1/audit/verify", "/api/v1/assets/{asset_id}/grade", "/api/v1/assets/{asset_id}/grades"):
        assert p in paths, p
    assert demo_env.client.get("/docs").status_code == 200


def test_assets_list_pages_and_filters(demo_env: Any) -> None:
    h = demo_env.auth("alice")
    page1 = demo_env.client.get("/api/v1/assets?limit=3", headers=h).json()
    page2 = demo_env.client.get("/api/v1/assets?limit=3&offset=3", headers=h).json()
    assert page1["total"] == 8 and len(page1["items"]) == 3
    ids = [a["id"] for a in page1["items"] + page2["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 6
    pumps = demo_env.client.get("/api/v1/assets?asset_type=pump&limit=50", headers=h).json()
    assert pumps["total"] == 4 and {a["asset_type"] for a in pumps["items"]} == {"pump"}
    review = demo_env.client.get("/api/v1/assets?decision=review&limit=50", headers=h).json()
    expected = {a.asset_id for a in demo_env.assets if a.decision == "review"}
    assert {a["id"] for a in review["items"]} == expected
    assert all(a["latest_decision"] == "review" for a in review["items"])
    one = demo_env.client.get("/api/v1/assets?q=demo-00&limit=1", headers=h).json()
    assert one["total"] == 8 and one["items"][0]["id"] == "demo-001"


def test_asset_get_and_404(demo_env: Any) -> None:
    h = demo_env.auth("alice")
    a = demo_env.client.get("/api/v1/assets/demo-002", headers=h).json()
    assert a["id"] == "demo-002" and a["version"] == 1 and a["latest_prediction_id"] == demo_env.assets[1].prediction_id
    assert a["created_at"].endswith("Z") or a["created_at"].endswith("+00:00")
    r = demo_env.client.get("/api/v1/assets/nope", headers=h)
    assert r.status_code == 404
    assert r.json()["error"] == "NotFoundError" and "nope" in r.json()["detail"]


def test_evidence_metadata_bytes_and_heat_map(demo_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    h = demo_env.auth("alice")
    evs = demo_env.client.get("/api/v1/assets/demo-001/evidence", headers=h).json()
    kinds = sorted(e["kind"] for e in evs)
    assert kinds == ["image", "log", "log", "series"]
    img = next(e for e in evs if e["kind"] == "image")
    assert img["origin"] == "synthetic" and img["overlay_url"] and img["content_url"]
    r = demo_env.client.get(img["content_url"], headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["etag"] == f'"{img["sha256"]}"' and "immutable" in r.headers["cache-control"]
    assert Image.open(io.BytesIO(r.content)).size == (320, 240)
    again = demo_env.client.get(img["content_url"], headers={**h, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    ov = demo_env.client.get(img["overlay_url"], headers=h)
    assert ov.status_code == 200 and ov.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(ov.content)).mode == "RGBA"
    meta = demo_env.client.get(f"/api/v1/evidence/{img['id']}", headers=h).json()
    assert meta["sha256"] == img["sha256"]
    log = next(e for e in evs if e["kind"] == "log")
    assert log["overlay_url"] is None and log["text"]
    assert demo_env.client.get(f"/api/v1/evidence/{log['id']}/overlay", headers=h).status_code == 404
    assert demo_env.client.get("/api/v1/evidence/none/content", headers=h).status_code == 404
    # HEAD (curl -I, link checkers) answers as GET does, without the bytes; it needs a token too
    head = demo_env.client.head(img["content_url"], headers=h)
    assert head.status_code == 200 and head.headers["etag"] == r.headers["etag"] and head.content == b""
    assert head.headers["content-length"] == str(len(r.content))
    assert demo_env.client.head(img["overlay_url"], headers=h).status_code == 200
    assert demo_env.client.head(img["content_url"]).status_code == 401
    assert demo_env.client.head("/api/v1/evidence/none/content", headers=h).status_code == 404
    def no_read(*_: Any, **__: Any) -> bytes:
        raise AssertionError("HEAD read the blob")

    # a HEAD answers from the blob's size: it never reads a 60 MB photo to send no body
    monkeypatch.setattr(type(demo_env.ws.blobs), "get_bytes", no_read)
    again = demo_env.client.head(img["content_url"], headers=h)
    assert again.status_code == 200 and again.headers["content-length"] == str(len(r.content))


def test_evidence_list_pages_with_a_total_and_refuses_an_unknown_kind(demo_env: Any) -> None:
    h = demo_env.auth("alice")
    url = "/api/v1/assets/demo-001/evidence"
    whole = demo_env.client.get(url, headers=h)
    assert whole.headers["x-total-count"] == "4" and len(whole.json()) == 4
    ids = [e["id"] for e in whole.json()]
    assert ids == sorted(ids)
    first, rest = (demo_env.client.get(f"{url}?limit=3", headers=h),
                   demo_env.client.get(f"{url}?limit=3&offset=3", headers=h))
    assert [e["id"] for e in first.json() + rest.json()] == ids and rest.headers["x-total-count"] == "4"
    logs = demo_env.client.get(f"{url}?kind=log&limit=1", headers=h)
    assert logs.headers["x-total-count"] == "2" and [e["kind"] for e in logs.json()] == ["log"]
    bad = demo_env.client.get(f"{url}?kind=photo", headers=h)
    assert bad.status_code == 422 and "photo" in bad.json()["detail"] and "image" in bad.json()["detail"]
    assert demo_env.client.get(f"{url}?limit=0", headers=h).status_code == 422


def test_grade_latest_and_history(demo_env: Any) -> None:
    h = demo_env.auth("alice")
    g = demo_env.client.get("/api/v1/assets/demo-003/grade", headers=h).json()
    assert g["id"] == demo_env.assets[2].prediction_id
    assert abs(sum(g["distribution"].values()) - 1.0) < 1e-6
    assert g["payload"]["grade"] == g["grade"] and g["payload"]["conformal_set"] == g["conformal_set"]
    hist = demo_env.client.get("/api/v1/assets/demo-003/grades", headers=h).json()
    assert [p["id"] for p in hist] == [g["id"]]


def test_queue_is_in_policy_order(demo_env: Any) -> None:
    h = demo_env.auth("alice")
    q = demo_env.client.get("/api/v1/queue?limit=100", headers=h).json()
    expected = {a.asset_id for a in demo_env.assets if a.decision == "review"}
    assert {i["asset_id"] for i in q["items"]} == expected and q["total"] == len(expected)
    keys = [(-(i["expected_cost"] or -1), -len(i["conformal_set"]), -i["n_contradictions"]) for i in q["items"]]
    assert keys == sorted(keys)
    assert [i["position"] for i in q["items"]] == list(range(len(expected)))
    assert all(i["reasons"] for i in q["items"])
    second = demo_env.client.get("/api/v1/queue?limit=1&offset=1", headers=h).json()
    assert second["items"][0]["asset_id"] == q["items"][1]["asset_id"]


def test_ontology_as_json(demo_env: Any) -> None:
    ont = demo_env.client.get("/api/v1/ontology", headers=demo_env.auth("station-1")).json()
    assert [g["id"] for g in ont["grades"]] == ["A", "B", "C", "D"]
    assert "corrosion" in ont["defects"] and ont["defects"]["corrosion"]["kind"] in ("cosmetic", "functional")
    assert len(ont["version"]) >= 8 and ont["rubric"]["rules"]
