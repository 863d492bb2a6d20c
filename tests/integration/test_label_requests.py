"""Label requests through the API and the web UI: listed in order, answered by a review, withdrawn by an admin."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete

from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.schema import Label


def _request(env: Any, ids: list[str]) -> None:
    with env.ws.session() as s:  # the demo assets come labelled: these stand for unlabelled ones
        s.execute(delete(Label).where(Label.asset_id.in_(ids), Label.kind == "grade"))
        rep = add_label_requests(s, [RequestedLabel(a, i + 1, "typiclust", "B", 0.41) for i, a in enumerate(ids)],
                                 strategy="budget_switch", model_version="m-test", requested_by="carol")
    assert rep.added == ids


def _login(env: Any, name: str) -> Any:
    c = env.client
    c.cookies.clear()
    r = c.post("/ui/login", data={"token": env.tokens[name], "next": "/ui/requests"}, follow_redirects=False)
    assert r.status_code == 303
    return c


def test_api_lists_open_requests_and_a_review_answers_one(fresh_env: Any) -> None:
    env = fresh_env
    ids = [a.asset_id for a in env.assets][:3]
    _request(env, ids)
    page = env.client.get("/api/v1/review/requests", headers=env.auth("alice")).json()
    assert page["total"] == 3 and [i["asset_id"] for i in page["items"]] == ids
    first = page["items"][0]
    assert first["rank"] == 1 and first["chosen_by"] == "typiclust" and first["requested_by"] == "carol"
    assert first["status"] == "open" and first["closed_at"] is None
    v = env.client.get(f"/api/v1/assets/{ids[0]}", headers=env.auth("alice")).json()["version"]
    r = env.client.post(f"/api/v1/assets/{ids[0]}/reviews", headers=env.auth("alice"),
                        json={"expected_version": v, "grade": "B"})
    assert r.status_code == 201
    page = env.client.get("/api/v1/review/requests", headers=env.auth("alice")).json()
    assert [i["asset_id"] for i in page["items"]] == ids[1:]
    done = env.client.get("/api/v1/review/requests?status=done", headers=env.auth("alice")).json()
    assert done["total"] == 1 and done["items"][0]["review_id"] == r.json()["id"]
    bad = env.client.get("/api/v1/review/requests?status=pending", headers=env.auth("alice"))
    assert bad.status_code == 422


def test_only_an_admin_withdraws_and_unknown_is_404(fresh_env: Any) -> None:
    env = fresh_env
    ids = [a.asset_id for a in env.assets][:2]
    _request(env, ids)
    assert env.client.delete(f"/api/v1/review/requests/{ids[0]}", headers=env.auth("alice")).status_code == 403
    assert env.client.delete(f"/api/v1/review/requests/{ids[0]}", headers=env.auth("admin")).status_code == 204
    again = env.client.delete(f"/api/v1/review/requests/{ids[0]}", headers=env.auth("admin"))
    assert again.status_code == 404 and "no open label request" in again.json()["detail"]
    page = env.client.get("/api/v1/review/requests", headers=env.auth("bob")).json()
    assert [i["asset_id"] for i in page["items"]] == ids[1:]


def test_ui_requests_page_banner_and_review_moves_to_the_next_request(fresh_env: Any) -> None:
    env = fresh_env
    ids = [a.asset_id for a in env.assets][:2]
    _request(env, ids)
    c = _login(env, "alice")
    html = c.get("/ui/requests").text
    assert "Label requests <small>(2 open)" in html
    assert re.findall(r'<td><a href="/ui/assets/([^"]+)">', html) == ids
    page = c.get(f"/ui/assets/{ids[0]}").text
    assert 'id="label-request"' in page and "Label requested by active learning: #1" in page
    assert "chosen by typiclust" in page and f'href="/ui/assets/{ids[1]}" id="next-request-link"' in page
    v = c.get(f"/api/v1/assets/{ids[0]}").json()["version"]
    r = c.post(f"/ui/assets/{ids[0]}/review", data={"expected_version": str(v), "grade": "C", "defects_json": "[]"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/assets/{ids[1]}?saved={ids[0]}"
    assert "answered by review" in c.get(f"/ui/assets/{ids[0]}").text
    v = c.get(f"/api/v1/assets/{ids[1]}").json()["version"]
    r = c.post(f"/ui/assets/{ids[1]}/review", data={"expected_version": str(v), "grade": "A", "defects_json": "[]"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/requests?done=1&saved={ids[1]}"
    assert "Every label request is answered" in c.get(r.headers["location"]).text
