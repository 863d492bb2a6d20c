"""REST reviews: optimistic concurrency (409 naming who and when), labels with source review, audit events, queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assetgrade.store.audit import verify_chain
from assetgrade.store.results import add_prediction
from assetgrade.store.schema import AuditEvent, Label


def _queued(env: Any) -> list[str]:
    return [i["asset_id"] for i in env.client.get("/api/v1/queue?limit=100", headers=env.auth("alice")).json()["items"]]


def test_review_writes_labels_audit_and_leaves_queue(fresh_env: Any) -> None:
    env = fresh_env
    target = _queued(env)[0]
    img = f"{target}/image/1"
    before = env.client.get(f"/api/v1/assets/{target}", headers=env.auth("alice")).json()
    body = {"expected_version": before["version"], "grade": "C", "note": "pitting under the paint",
            "defects": [{"id": "corrosion", "severity": None, "evidence_id": img, "box": [10, 12, 60, 50]},
                        {"id": "leak"}]}
    r = env.client.post(f"/api/v1/assets/{target}/reviews", headers=env.auth("alice"), json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["reviewer"] == "alice" and out["grade"] == "C" and out["asset_version"] == before["version"] + 1
    assert out["based_on_prediction_id"] == before["latest_prediction_id"]
    assert target not in _queued(env)
    with env.ws.session(readonly=True) as s:
        labels = list(s.execute(select(Label).where(Label.asset_id == target, Label.source == "review")).scalars())
        events = list(s.execute(select(AuditEvent).where(AuditEvent.actor == "alice")).scalars())
        assert verify_chain(s).ok
    assert {(lb.kind, lb.value) for lb in labels} == {("grade", "C"), ("defect", "corrosion"), ("defect", "leak")}
    assert next(lb for lb in labels if lb.value == "corrosion").box == [10.0, 12.0, 60.0, 50.0]
    assert "review.add" in {e.action for e in events}
    listed = env.client.get(f"/api/v1/assets/{target}/reviews", headers=env.auth("bob")).json()
    assert [x["id"] for x in listed] == [out["id"]] and listed[0]["note"] == "pitting under the paint"


def test_second_reviewer_gets_409_naming_who_and_when(fresh_env: Any) -> None:
    env = fresh_env
    target = _queued(env)[0]
    v = env.client.get(f"/api/v1/assets/{target}", headers=env.auth("bob")).json()["version"]
    first = env.client.post(f"/api/v1/assets/{target}/reviews", headers=env.auth("alice"),
                            json={"expected_version": v, "grade": "B"})
    assert first.status_code == 201
    second = env.client.post(f"/api/v1/assets/{target}/reviews", headers=env.auth("bob"),
                             json={"expected_version": v, "grade": "D", "note": "mine"})
    assert second.status_code == 409
    err = second.json()
    assert err["error"] == "ConflictError"
    assert "alice" in err["detail"] and "UTC" in err["detail"] and f"version {v + 1}" in err["detail"]
    reviews = env.client.get(f"/api/v1/assets/{target}/reviews", headers=env.auth("bob")).json()
    assert [x["reviewer"] for x in reviews] == ["alice"]  # nothing of bob's was written
    retry = env.client.post(f"/api/v1/assets/{target}/reviews", headers=env.auth("bob"),
                            json={"expected_version": v + 1, "grade": "D", "note": "mine"})
    assert retry.status_code == 201 and retry.json()["asset_version"] == v + 2
    ahead = env.client.post(f"/api/v1/assets/{target}/reviews", headers=env.auth("bob"),
                            json={"expected_version": v + 9, "grade": "D"})  # a version nobody read
    assert ahead.status_code == 422 and ahead.json()["where"] == "expected_version"
    assert f"ahead of asset {target!r}, which is at version {v + 2}" in ahead.json()["detail"]


def test_a_retried_review_answers_the_stored_one_and_writes_nothing_twice(fresh_env: Any) -> None:
    env = fresh_env
    target = _queued(env)[0]
    url = f"/api/v1/assets/{target}/reviews"
    v = env.client.get(f"/api/v1/assets/{target}", headers=env.auth("alice")).json()["version"]
    body = {"expected_version": v, "grade": "C", "note": "seal weeping",
            "defects": [{"id": "leak", "evidence_id": f"{target}/image/1", "box": [1, 2, 30, 40]}]}
    first = env.client.post(url, headers=env.auth("alice"), json=body)
    assert first.status_code == 201 and "idempotent-replay" not in first.headers
    # the response was lost: the reviewer's client sends the same review again
    again = env.client.post(url, headers=env.auth("alice"), json=body)
    assert again.status_code == 200 and again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()
    with env.ws.session(readonly=True) as s:
        adds = s.execute(select(AuditEvent).where(AuditEvent.action == "review.add",
                                                  AuditEvent.actor == "alice")).scalars().all()
        assert len(adds) == 1 and verify_chain(s).ok
    assert len(env.client.get(url, headers=env.auth("alice")).json()) == 1
    # not a replay: other content, another reviewer, or the asset changed since
    changed = env.client.post(url, headers=env.auth("alice"), json={**body, "grade": "D"})
    assert changed.status_code == 409 and "alice" in changed.json()["detail"]
    other = env.client.post(url, headers=env.auth("bob"), json=body)
    assert other.status_code == 409
    later = env.client.post(url, headers=env.auth("alice"), json={**body, "expected_version": v + 1, "grade": "B"})
    assert later.status_code == 201
    stale = env.client.post(url, headers=env.auth("alice"), json=body)  # the first review, now two versions back
    assert stale.status_code == 409


def test_review_validation_errors_are_422_with_where(fresh_env: Any) -> None:
    env = fresh_env
    h = env.auth("alice")
    target = _queued(env)[0]
    url = f"/api/v1/assets/{target}/reviews"
    bad_grade = env.client.post(url, headers=h, json={"expected_version": 1, "grade": "Z"})
    assert bad_grade.status_code == 422 and "Z" in bad_grade.json()["detail"]
    bad_defect = env.client.post(f"/api/v1/assets/{target}/reviews", headers=h,
                                 json={"expected_version": 1, "defects": [{"id": "rust-ish"}]})
    assert bad_defect.status_code == 422 and bad_defect.json()["where"] == "defects[0].id"
    bad_box = env.client.post(f"/api/v1/assets/{target}/reviews", headers=h,
                              json={"expected_version": 1, "defects": [{"id": "dent", "box": [5, 5, 1, 1]}]})
    assert bad_box.status_code == 422 and "defects" in bad_box.json()["where"]
    other_ev = env.client.post(f"/api/v1/assets/{target}/reviews", headers=h,
                               json={"expected_version": 1, "defects": [{"id": "dent", "evidence_id": "demo-999/x"}]})
    assert other_ev.status_code == 422
    missing = env.client.post("/api/v1/assets/none/reviews", headers=h, json={"expected_version": 1})
    assert missing.status_code == 404
    assert env.client.get(f"/api/v1/assets/{target}", headers=h).json()["version"] == 1


def test_new_prediction_after_review_requeues(fresh_env: Any) -> None:
    env = fresh_env
    target = _queued(env)[0]
    env.client.post(
        f"/api/v1/assets/{target}/reviews", headers=env.auth("alice"), json={"expected_version": 1, "grade": "B"}
    )
    assert target not in _queued(env)
    with env.ws.session() as s:
        add_prediction(
            s, target, model_version="demo-2", grade="C", distribution={"A": 0.1, "B": 0.4, "C": 0.5, "D": 0.0},
            conformal_set=["B", "C"], decision="review", expected_cost=999.0, payload={},
        )
    assert _queued(env)[0] == target  # highest expected cost goes first


def test_a_defect_box_must_lie_on_an_image_of_the_asset(fresh_env: Any) -> None:
    from assetgrade.store.schema import Evidence

    env = fresh_env
    h = env.auth("alice")
    target = _queued(env)[0]
    img = f"{target}/image/1"
    with env.ws.session(readonly=True) as s:
        ev = s.get(Evidence, img)
        assert ev is not None
        w, hgt = ev.attributes["width"], ev.attributes["height"]
        others = [e.id for e in s.execute(select(Evidence).where(Evidence.asset_id != target,
                                                                 Evidence.kind == "image")).scalars()]
    url = f"/api/v1/assets/{target}/reviews"

    def post(defect: dict[str, Any]) -> Any:
        return env.client.post(url, headers=h, json={"expected_version": 1, "grade": "C",
                                                     "defects": [{"id": "leak"}, {"id": "corrosion", **defect}]})

    for defect in ({"evidence_id": img, "box": [-5, -5, 10, 10]},
                   {"evidence_id": img, "box": [0, 0, 100000, 100000]},
                   {"evidence_id": img, "box": [0, 0, w + 2, 10]},
                   {"evidence_id": img, "box": [0, 0, 10, hgt + 2]},
                   {"box": [1, 1, 5, 5]}):
        r = post(defect)
        assert r.status_code == 422 and r.json()["where"] == "defects[1].box", (defect, r.text)
        assert str(defect["box"][0]) in r.json()["detail"]
    r = post({"evidence_id": others[0], "box": [1, 1, 5, 5]})  # another asset's image
    assert r.status_code == 422 and r.json()["where"].startswith("defects[1].")
    assert env.client.get(f"/api/v1/assets/{target}", headers=h).json()["version"] == 1  # nothing written
    r = post({"evidence_id": img, "box": [0, 0, w + 0.5, hgt]})  # the whole image, with rounding
    assert r.status_code == 201, r.text
