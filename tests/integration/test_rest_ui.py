"""The web UI through the test client: login/logout, queue, asset page content, review form, conflicts, dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient


def _login(env: Any, name: str) -> TestClient:
    c = env.client
    c.cookies.clear()
    r = c.post("/ui/login", data={"token": env.tokens[name], "next": "/ui/queue"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/queue"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    c.headers["Origin"] = str(c.base_url).rstrip("/")  # as a browser does with a post
    return c


def test_login_required_and_bad_tokens_refused(demo_env: Any) -> None:
    c = demo_env.client
    c.cookies.clear()
    r = c.get("/ui/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next=/ui/queue")
    bad = c.post("/ui/login", data={"token": "agt_wrong"})
    assert bad.status_code == 401 and "unknown API token" in bad.text
    station = c.post("/ui/login", data={"token": demo_env.tokens["station-1"]})
    assert station.status_code == 401 and "station" in station.text
    c.cookies.set("assetgrade_session", "forged.value")
    assert c.get("/ui/queue", follow_redirects=False).status_code == 303
    c.cookies.clear()


def test_queue_page_lists_queue_in_order(demo_env: Any) -> None:
    c = _login(demo_env, "alice")
    html = c.get("/ui/queue").text
    api = c.get("/api/v1/queue?limit=100").json()["items"]  # the cookie also authenticates the API
    shown = re.findall(r'<td><a href="/ui/assets/([^"]+)">', html)
    assert shown == [i["asset_id"] for i in api]
    assert "Ordered by the review policy" in html and '<script src="/static/htmx.min.js"' in html


def test_asset_page_shows_evidence_and_reasons(demo_env: Any) -> None:
    c = _login(demo_env, "alice")
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]
    html = c.get(f"/ui/assets/{target['asset_id']}").text
    assert f"/api/v1/evidence/{target['asset_id']}/image/1/content" in html
    assert f"/api/v1/evidence/{target['asset_id']}/image/1/overlay" in html and 'id="toggle-heat"' in html
    assert re.search(r'<mark class="(confirmed|negated)" title="[a-z]+ \((confirmed|negated)\)">', html)
    assert 'class="window"' in html and "<polyline" in html  # sensor plot with a shaded window
    assert 'aria-label="grade distribution:' in html
    for reason in target["reasons"]:
        assert reason in html
    assert f'name="expected_version" value="{target["asset_version"]}"' in html
    defects = json.loads(re.search(r'id="defects-json" value="([^"]*)"', html).group(1).replace("&#34;", '"'))
    assert any(d.get("box") and d["id"] == "corrosion" for d in defects)
    assert not re.search(r'(src|href)="https?://', html)  # no external requests
    assert 'href="/static/app.css"' in html


def test_review_form_submits_and_moves_on(fresh_env: Any) -> None:
    c = _login(fresh_env, "alice")
    q = c.get("/api/v1/queue?limit=10").json()["items"]
    first, second = q[0], q[1]
    form = {"expected_version": str(first["asset_version"]), "grade": "D", "note": "bent frame",
            "based_on_prediction_id": first["prediction_id"],
            "defects_json": json.dumps([{"id": "dent", "evidence_id": f"{first['asset_id']}/image/1",
                                         "box": [1, 2, 40, 50], "source": "reviewer"}])}
    r = c.post(f"/ui/assets/{first['asset_id']}/review", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/ui/assets/{second['asset_id']}?saved=")
    rv = c.get(f"/api/v1/assets/{first['asset_id']}/reviews").json()[0]
    assert rv["grade"] == "D" and rv["note"] == "bent frame" and rv["defects"][0]["box"] == [1.0, 2.0, 40.0, 50.0]
    page = c.get(f"/ui/assets/{first['asset_id']}").text
    assert "bent frame" in page and "Not in the queue" in page
    hx = c.post(f"/ui/assets/{second['asset_id']}/review", headers={"HX-Request": "true"},
                data={**form, "expected_version": str(second["asset_version"]), "defects_json": "[]",
                      "based_on_prediction_id": second["prediction_id"]})
    assert hx.status_code == 200 and hx.headers["HX-Redirect"].startswith("/ui/")


def test_conflict_keeps_the_second_reviewers_input(fresh_env: Any) -> None:
    env = fresh_env
    target = env.client.get("/api/v1/queue?limit=1", headers=env.auth("alice")).json()["items"][0]
    aid, v = target["asset_id"], target["asset_version"]
    ok = env.client.post(f"/api/v1/assets/{aid}/reviews", headers=env.auth("alice"),
                         json={"expected_version": v, "grade": "A", "note": "alice was here"})
    assert ok.status_code == 201
    c = _login(env, "bob")
    mine = [{"id": "crack", "evidence_id": f"{aid}/image/1", "box": [5, 5, 25, 30], "source": "reviewer"}]
    form = {"expected_version": str(v), "grade": "C", "note": "my careful note", "defects_json": json.dumps(mine)}
    r = c.post(f"/ui/assets/{aid}/review", data=form)
    assert r.status_code == 409
    html = r.text
    assert "Conflict" in html and "alice" in html and "UTC" in html and "alice was here" in html
    assert "my careful note" in html and 'value="C" checked' in html and "crack" in html
    assert f'name="expected_version" value="{v + 1}"' in html  # resubmitting answers the new version
    hx = c.post(f"/ui/assets/{aid}/review", data=form, headers={"HX-Request": "true"})
    assert hx.status_code == 409 and hx.text.lstrip().startswith('<section class="card" id="review-panel"')
    # htmx swaps the panel only: the header's version and the review history come out of band
    assert f'<span id="asset-version" hx-swap-oob="true">version {v + 1}</span>' in hx.text
    oob = hx.text.split('<div id="review-history" hx-swap-oob="true">')[1]
    assert "alice" in oob and "alice was here" in oob and 'id="h-hist"' in oob
    assert 'hx-swap-oob' not in r.text  # the full page (no htmx) has nothing out of band
    reviews = c.get(f"/api/v1/assets/{aid}/reviews").json()
    assert [x["reviewer"] for x in reviews] == ["alice"]


def test_cross_site_post_refused_and_logout(fresh_env: Any) -> None:
    c = _login(fresh_env, "alice")
    r = c.post("/ui/assets/demo-001/review", data={"expected_version": "1"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # a sandboxed frame on another site posts with Origin: null (and, over plain HTTP, no Sec-Fetch-Site)
    forced = fresh_env.client.post("/ui/login", data={"token": fresh_env.tokens["bob"]}, headers={"Origin": "null"},
                                   follow_redirects=False)
    assert forced.status_code == 403 and "set-cookie" not in forced.headers
    assert c.post("/ui/logout", headers={"Origin": "null"}, follow_redirects=False).status_code == 403
    out = c.post("/ui/logout", follow_redirects=False)
    assert out.status_code == 303 and 'assetgrade_session=""' in out.headers["set-cookie"]
    c.cookies.clear()
    assert c.get("/ui/queue", follow_redirects=False).status_code == 303


def test_dashboard_plots(fresh_env: Any) -> None:
    env = fresh_env
    target = env.client.get("/api/v1/queue?limit=1", headers=env.auth("alice")).json()["items"][0]
    other = "A" if target["grade"] != "A" else "B"
    env.client.post(f"/api/v1/assets/{target['asset_id']}/reviews", headers=env.auth("alice"),
                    json={"expected_version": target["asset_version"], "grade": other})
    c = _login(env, "alice")
    html = c.get("/ui/dashboard").text
    assert html.count("<svg") == 4
    for title in ("Grade mix", "Auto-accept rate", "Mean expected cost", "Reviewer override rate"):
        assert title in html
    assert "100%" in html  # the one review overrode the model


def test_static_files_served(demo_env: Any) -> None:
    js = demo_env.client.get("/static/htmx.min.js")
    assert js.status_code == 200 and js.text.startswith("/*! htmx 2.") and "0BSD" in js.text[:200]
    assert "Zero-Clause BSD" in demo_env.client.get("/static/htmx.LICENSE.txt").text
    assert demo_env.client.get("/static/review.js").status_code == 200


def test_asset_page_draws_at_most_so_many_items_of_a_kind_and_links_to_all(fresh_env: Any) -> None:
    # an asset with hundreds of photos used to have every blob checked and drawn on each view
    import io

    from PIL import Image

    from assetgrade.store.repository import ProvenanceInfo, add_evidence
    from assetgrade.store.results import latest_prediction
    from assetgrade.web.page import SHOWN

    c = _login(fresh_env, "alice")
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]["asset_id"]
    before = c.get(f"/ui/assets/{target}").text.count('class="imgbox"')
    extra = SHOWN["image"] + 5
    with fresh_env.ws.session() as s:
        for k in range(extra):
            buf = io.BytesIO()
            Image.new("RGB", (8, 8), (k, 2 * k, 3 * k)).save(buf, "PNG")
            sha = fresh_env.ws.blobs.put_bytes(buf.getvalue())
            add_evidence(s, asset_id=target, kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                         evidence_id=f"{target}/extra/{k:03d}", provenance=ProvenanceInfo(source="camera"))
    html = c.get(f"/ui/assets/{target}").text
    assert html.count('class="imgbox"') == SHOWN["image"]
    hidden = before + extra - SHOWN["image"]
    assert f'id="more-image">{hidden} more images not shown' in html
    assert f'href="/ui/assets/{target}?all=1"' in html and 'id="more-log"' not in html
    # the images the latest grade's findings name are kept although older: they are what the reviewer checks
    with fresh_env.ws.session(readonly=True) as s:
        payload = latest_prediction(s, target).payload
    named = {f["evidence_id"] for e in payload["evidence"] for f in e["findings"]
             if f.get("modality") == "vision" and f.get("evidence_id")}
    shown = set(re.findall(r'data-evidence="([^"]+)"', html))
    assert named and not any("/extra/" in n for n in named)
    assert named <= shown and f"{target}/extra/{extra - 1:03d}" in shown  # then the newest
    every = c.get(f"/ui/assets/{target}?all=1").text
    assert every.count('class="imgbox"') == before + extra and 'id="more-image"' not in every
