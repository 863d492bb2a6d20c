"""The web UI's answers to hostile or unlucky use, through the test client: ended sessions under htmx,
forms without a grade or with an oversized note, assets whose images are gone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assetgrade.errors import ValidationError


def test_htmx_requests_without_a_session_are_not_redirected_into_the_page(demo_env: Any) -> None:
    c = demo_env.client
    c.cookies.clear()
    hx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/ui/queue?offset=50&limit=50"}
    r = c.get("/ui/queue?offset=50&limit=50", headers=hx, follow_redirects=False)
    # a 303 would be followed inside the request and the login page swapped into the table
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/ui/login?next=/ui/queue%3Foffset%3D50%26limit%3D50"
    elsewhere = c.get("/ui/queue", headers={**hx, "HX-Current-URL": "https://evil.example/ui/x"},
                      follow_redirects=False)
    assert elsewhere.headers["HX-Redirect"] == "/ui/login?next=/ui/queue"  # only a page of this service
    post = c.post("/ui/assets/demo-001/review", headers={"HX-Request": "true"}, data={"expected_version": "1"},
                  follow_redirects=False)
    assert post.status_code == 401 and "HX-Redirect" not in post.headers  # review.js says so; the input stays
    assert 'role="alert"' in post.text
    plain = c.get("/ui/queue", follow_redirects=False)  # a page load still goes to the login page
    assert plain.status_code == 303 and plain.headers["location"] == "/ui/login?next=/ui/queue"


def test_an_ended_session_is_said_on_the_login_page_and_a_link_cannot_write_there(fresh_env: Any) -> None:
    from assetgrade.rest.auth import revoke_token
    from assetgrade.rest.deps import SESSION_COOKIE

    c = fresh_env.login("alice")
    with fresh_env.ws.session() as s:
        revoke_token(s, "alice")
    r = c.get("/ui/queue", follow_redirects=False)  # the cookie is there, its token no longer works
    assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/queue&ended=1"
    assert "Your session has ended" in c.get(r.headers["location"]).text
    hx = c.get("/ui/queue", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.headers["HX-Redirect"].endswith("&ended=1")
    c.cookies.delete(SESSION_COOKIE)
    assert c.get("/ui/queue", follow_redirects=False).headers["location"] == "/ui/login?next=/ui/queue"  # never was
    spoof = c.get("/ui/login?error=Your+token+leaked:+paste+it+at+evil.example").text
    assert "evil.example" not in spoof and 'id="login-error"' not in spoof


def test_a_saved_message_names_only_a_review_the_reviewer_saved(fresh_env: Any) -> None:
    c = fresh_env.login("alice")
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]
    aid = target["asset_id"]
    fake = "x. Your token expired: paste it at evil.example to renew. Review of y"
    for page in ("/ui/queue", "/ui/requests", f"/ui/assets/{aid}"):
        html = c.get(f"{page}?saved={fake}").text
        assert "evil.example" not in html and f"Review of <bdi>{aid}</bdi> saved" not in html, page
    r = c.post(f"/ui/assets/{aid}/review", data={"expected_version": str(target["asset_version"]), "grade": "B"},
               follow_redirects=False)
    assert r.status_code == 303 and f"saved={aid}" in r.headers["location"]
    assert f"Review of <bdi>{aid}</bdi> saved." in c.get(r.headers["location"]).text  # the real one is said
    assert "saved." not in fresh_env.login("bob").get(f"/ui/queue?saved={aid}").text  # not bob's review


def test_review_form_needs_a_grade_and_names_bad_fields_plainly(fresh_env: Any) -> None:
    c = fresh_env.login("alice")
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]
    aid, v = target["asset_id"], str(target["asset_version"])
    cases = [
        ({"expected_version": v, "note": "looked at it"}, "pick a grade (A, B, C, D)"),
        ({"expected_version": "abc", "grade": "B"}, "expected_version must be a whole number, got &#39;abc&#39;"),
        ({"expected_version": v, "grade": "B", "defects_json": "[1, 2]"}, "must be a JSON list of objects"),
        ({"expected_version": v, "grade": "B", "defects_json": "[{"}, "the defect list is not valid JSON"),
        ({"expected_version": v, "grade": "B", "note": "x" * 10_001}, "note: String should have at most 10000"),
    ]
    for form, message in cases:
        r = c.post(f"/ui/assets/{aid}/review", data=form)
        assert r.status_code == 422, form
        assert message in r.text, (form, r.text[r.text.find("Not saved"):][:300])
        assert "invalid literal" not in r.text and "errors.pydantic.dev" not in r.text and "ReviewIn" not in r.text
    assert c.get(f"/api/v1/assets/{aid}/reviews").json() == []
    assert c.get("/api/v1/queue?limit=1").json()["items"][0]["asset_id"] == aid  # still waiting for its review
    page = c.get(f"/ui/assets/{aid}").text
    assert len(re.findall(r'<input type="radio" name="grade" value="[A-D]" (checked )?required', page)) == 4
    assert 'maxlength="10000"' in page
    assert 'autocomplete="off"' in page  # the back button does not bring back a stale version


def test_a_model_grade_off_the_scale_is_said_and_not_preselected(fresh_env: Any) -> None:
    from assetgrade.store.results import add_prediction

    aid = fresh_env.assets[0].asset_id
    with fresh_env.ws.session() as s:  # graded when the scale had a grade Z
        add_prediction(s, aid, model_version="old-scale", grade="Z", distribution={"Z": 0.7, "A": 0.3},
                       conformal_set=["Z"], decision="review")
    html = fresh_env.login("alice").get(f"/ui/assets/{aid}").text
    assert "The model's grade <strong>Z</strong> is not on this workspace's scale (A, B, C, D): pick one" in html
    assert "checked" not in html[html.find('<fieldset class="grades">'):html.find("</fieldset>")]


def test_an_image_or_heat_map_lost_from_the_blob_store_is_said_on_the_page(fresh_env: Any) -> None:
    from pathlib import Path

    from assetgrade.store.repository import get_evidence
    from assetgrade.store.results import latest_prediction

    lost_image, lost_heat = fresh_env.assets[0], fresh_env.assets[1]
    with fresh_env.ws.session() as s:
        image_sha = get_evidence(s, lost_image.image_evidence_id).blob_sha
        pred = latest_prediction(s, lost_heat.asset_id)
        heat_sha = pred.payload["overlays"][lost_heat.image_evidence_id]
    for sha in (image_sha, heat_sha):
        Path(fresh_env.ws.blobs.path_for(sha)).unlink()
    c = fresh_env.login("alice")
    html = c.get(f"/ui/assets/{lost_image.asset_id}").text
    assert (f"Image {lost_image.image_evidence_id} cannot be shown: its file (blob {image_sha[:12]}…) is missing "
            "from the workspace's blob store") in html
    assert f"/api/v1/evidence/{lost_image.image_evidence_id}/content" not in html  # no broken image, no 404
    html = c.get(f"/ui/assets/{lost_heat.asset_id}").text
    assert f"/api/v1/evidence/{lost_heat.image_evidence_id}/content" in html
    assert f"/api/v1/evidence/{lost_heat.image_evidence_id}/overlay" not in html
    assert "the heat map's file is missing from the blob store" in html


def test_a_queue_page_past_the_end_says_so_and_links_back(demo_env: Any) -> None:
    c = demo_env.login("alice")
    total = c.get("/api/v1/queue").json()["total"]
    assert total > 3
    past = c.get("/ui/queue?offset=500&limit=2").text
    assert "Nothing to review" not in past  # the queue is not empty: this page is past its end
    assert f"No assets from row 501 on: the queue holds {total}." in past
    assert f'href="/ui/queue?offset={total - 2}&limit=2">Previous page' in past  # the last page, not row 499
    middle = c.get("/ui/queue?offset=2&limit=2").text
    assert f"Rows 3–4 of {total}" in middle and 'href="/ui/queue?offset=0&limit=2">Previous page' in middle


def test_a_requests_page_past_the_end_says_so(fresh_env: Any) -> None:
    from assetgrade.store.requests import RequestedLabel, add_label_requests

    ids = [a.asset_id for a in fresh_env.assets[:3]]
    with fresh_env.ws.session() as s:
        add_label_requests(s, [RequestedLabel(a, i + 1, "margin") for i, a in enumerate(ids)],
                           strategy="margin", model_version="m-test", requested_by="carol")
    c = fresh_env.login("alice")
    past = c.get("/ui/requests?offset=40&limit=2").text
    assert "No open label requests" not in past and "No requests from row 41 on: 3 are open." in past
    assert 'href="/ui/requests?offset=1&limit=2">Previous page' in past
    assert "Rows 1–2 of 3" in c.get("/ui/requests?limit=2").text


def test_keyboard_help_offers_only_the_keys_that_work_on_a_long_scale(tmp_path: Any) -> None:
    from pathlib import Path

    import yaml
    from fastapi.testclient import TestClient

    import assetgrade.ontology
    from assetgrade.rest import create_app, create_token
    from assetgrade.rest.demo import seed_demo
    from assetgrade.workspace import Workspace

    from .conftest import SMALL_LIMITS

    data = yaml.safe_load((Path(assetgrade.ontology.__file__).parent / "default.yaml").read_text())
    data["grades"] += [{"id": g, "name": f"Grade {g}"} for g in "EFGHIJK"]  # 11 grades
    (tmp_path / "long.yaml").write_text(yaml.safe_dump(data))
    ws = Workspace.init(tmp_path / "ws")
    cfg = (tmp_path / "ws" / "assetgrade.yaml").read_text().replace("ontology: null", f"ontology: {tmp_path}/long.yaml")
    (tmp_path / "ws" / "assetgrade.yaml").write_text(cfg)
    ws.close()
    ws = Workspace.open(tmp_path / "ws")
    seed_demo(ws, n_assets=1)
    with ws.session() as s:
        token = create_token(s, name="alice", role="reviewer", actor="test")[0]
    with TestClient(create_app(ws, SMALL_LIMITS)) as c:
        c.post("/ui/login", data={"token": token})
        html = c.get("/ui/assets/demo-001").text
    ws.close()
    assert len(re.findall(r'name="grade" value="[A-K]"', html)) == 11
    # review.js picks the 1st-9th grade with the digits and the 1st-4th with a-d: the help says just that
    assert "<kbd>1</kbd>–<kbd>9</kbd> or <kbd>a</kbd>–<kbd>d</kbd>: pick one of the first 9 grades" in html
    assert "<kbd>10</kbd>" not in html and "<kbd>9</kbd> <span class=\"grade g-I\">" in html


def test_an_asset_id_with_dot_segments_is_linked_and_reviewed_as_itself(fresh_env: Any) -> None:
    from assetgrade.store.repository import add_asset
    from assetgrade.store.results import add_prediction
    from assetgrade.store.schema import Asset

    decoy = fresh_env.assets[0].asset_id
    trap = f"x/../{decoy}"  # a browser resolves /ui/assets/x/../demo-001 to /ui/assets/demo-001
    with fresh_env.ws.session() as s, pytest.raises(ValidationError, match="path segment"):
        add_asset(s, trap, asset_type="pump")  # new ids like it are refused ...
    with fresh_env.ws.session() as s:  # ... but a store written before that may hold one
        s.add(Asset(id=trap, asset_type="pump"))
        add_prediction(s, trap, model_version="m", grade="B", distribution={"A": 0.5, "B": 0.5},
                       conformal_set=["A", "B"], decision="review", expected_cost=1e6)  # the queue's head
    c = fresh_env.login("alice")
    link = f"/ui/assets/x%2F..%2F{decoy}"
    assert f'<a href="{link}">' in c.get("/ui/queue").text
    nxt = c.get("/ui/next", follow_redirects=False)
    assert nxt.headers["location"] == link
    page = c.get(link).text
    assert f'action="{link}/review"' in page and f'hx-post="{link}/review"' in page
    r = c.post(f"{link}/review", data={"expected_version": "1", "grade": "A"}, follow_redirects=False)
    assert r.status_code == 303
    assert [x["grade"] for x in c.get(f"/api/v1/assets/{trap.replace('/', '%2F')}/reviews").json()] == ["A"]
    assert c.get(f"/api/v1/assets/{decoy}/reviews").json() == []


def test_form_posts_behind_a_tls_proxy_pass_and_cross_site_ones_are_refused(fresh_env: Any) -> None:
    c = fresh_env.client
    c.cookies.clear()
    token = fresh_env.tokens["alice"]
    # a proxy in front sends its own Host (testserver); the browser says the post came from the page's origin
    proxied = {"Origin": "https://grading.example.com", "Sec-Fetch-Site": "same-origin"}
    r = c.post("/ui/login", data={"token": token}, headers=proxied, follow_redirects=False)
    assert r.status_code == 303, r.text
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]
    form = {"expected_version": str(target["asset_version"]), "grade": "B"}
    for headers in ({"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},  # a forged Origin is not enough
                    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame on another site
                    {"Origin": "https://other.example.com", "Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}):  # no Sec-Fetch-Site: the Origin decides
        refused = c.post(f"/ui/assets/{target['asset_id']}/review", data=form, headers=headers)
        assert refused.status_code == 403 and "cross-site form post refused" in refused.text, headers
    assert c.get(f"/api/v1/assets/{target['asset_id']}/reviews").json() == []
    reload = c.post(f"/ui/assets/{target['asset_id']}/review", data={**form, "grade": "Q"},
                    headers={"Origin": "https://grading.example.com", "Sec-Fetch-Site": "none"})
    assert reload.status_code == 422  # the user's own resubmission (reload) is checked, not refused as foreign
    ok = c.post(f"/ui/assets/{target['asset_id']}/review", data=form, headers=proxied, follow_redirects=False)
    assert ok.status_code == 303


def test_the_asset_page_reads_only_the_latest_of_many_predictions(fresh_env: Any) -> None:
    from sqlalchemy import event

    from assetgrade.store.results import add_prediction
    from assetgrade.store.schema import Prediction
    from assetgrade.web.page import load_asset_page

    aid = fresh_env.assets[0].asset_id
    with fresh_env.ws.session() as s:  # graded again and again (each batch run adds one)
        for i in range(40):
            add_prediction(s, aid, model_version=f"m{i}", grade="C", distribution={"B": 0.4, "C": 0.6},
                           conformal_set=["C"], decision="review", payload={"pad": "x" * 20_000})
    loaded: list[str] = []

    def count(target: Prediction, _: Any) -> None:
        loaded.append(target.id)

    event.listen(Prediction, "load", count)
    try:
        page = load_asset_page(fresh_env.ws, aid)
    finally:
        event.remove(Prediction, "load", count)
    assert page.prediction is not None and page.prediction.model_version == "m39"
    assert page.n_predictions == 41 and len(loaded) == 1  # not 41 payloads for one count
    assert "· 41 predictions" in fresh_env.login("alice").get(f"/ui/assets/{aid}").text


def test_right_to_left_overrides_stay_inside_ids_and_notes(fresh_env: Any) -> None:
    from assetgrade.store.repository import add_asset
    from assetgrade.store.results import add_prediction

    rtl = "\u202eexe.gpj"  # shows as "jpg.exe" and would reverse what follows it on the line
    with fresh_env.ws.session() as s:
        add_asset(s, rtl, asset_type="pump")
        add_prediction(s, rtl, model_version="m", grade="B", distribution={"A": 0.5, "B": 0.5},
                       conformal_set=["A", "B"], decision="review", expected_cost=1e6, payload={})
    c = fresh_env.login("alice")
    queue = c.get("/ui/queue").text
    shown = "\u27e8U+202E\u27e9exe.gpj"  # and shown as its code point: inside <bdi> it reversed the rest of it
    assert f"<bdi>{shown}</bdi></a>" in queue
    r = c.post(f"/ui/assets/{rtl}/review", data={"expected_version": "1", "grade": "A", "note": f"{rtl} note"},
               follow_redirects=False)
    page = c.get(r.headers["location"]).text
    assert f"Review of <bdi>{shown}</bdi> saved." in page
    mine = c.get(f"/ui/assets/{rtl}").text
    assert f"<h1><bdi>{shown}</bdi>" in mine and f"<q><bdi>{shown} note</bdi></q>" in mine


def test_pages_forbid_framing_and_foreign_scripts(demo_env: Any) -> None:
    c = demo_env.login("alice")
    aid = demo_env.assets[0].asset_id
    for path in ("/ui/queue", f"/ui/assets/{aid}", "/ui/dashboard", "/ui/assets/no-such-asset"):
        r = c.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in c.get("/ui/login").headers["Content-Security-Policy"]


def test_a_prediction_with_malformed_details_still_shows_its_page(fresh_env: Any) -> None:
    import copy

    from assetgrade.store.results import add_prediction, latest_prediction

    aid = fresh_env.assets[0].asset_id
    with fresh_env.ws.session() as s:
        payload = copy.deepcopy(latest_prediction(s, aid).payload)
    payload["evidence"][0]["findings"][0]["region"] = ["a", "b", "c", "d"]  # written by something else
    with fresh_env.ws.session() as s:
        add_prediction(s, aid, model_version="odd", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["B"], decision="review", payload=payload)
    r = fresh_env.login("alice").get(f"/ui/assets/{aid}")
    assert r.status_code == 200  # not a 500 for the whole page
    assert "cannot be read, so only its grade is shown: ValueError: a finding&#39;s box must be 4 finite" in r.text
    assert 'name="grade" value="B" checked' in r.text


def test_evidence_the_page_cannot_draw_is_listed_not_left_out(fresh_env: Any) -> None:
    from assetgrade.store.repository import add_evidence

    aid = fresh_env.assets[0].asset_id
    pdf = fresh_env.ws.blobs.put_bytes(b"%PDF-1.4 inspection report")
    with fresh_env.ws.session() as s:
        add_evidence(s, asset_id=aid, kind="document", sha256=pdf, blob_sha=pdf, media_type="application/pdf",
                     evidence_id=f"{aid}/report.pdf")
    html = fresh_env.login("alice").get(f"/ui/assets/{aid}").text
    assert "Other evidence" in html
    assert (f"<bdi>{aid}/report.pdf</bdi> · document · application/pdf · real · "
            f'<a href="/api/v1/evidence/{aid}/report.pdf/content" download>download</a>') in html


def test_an_asset_reviewed_many_times_lists_the_newest_reviews_and_the_count(fresh_env: Any) -> None:
    from assetgrade.store.results import add_review
    from assetgrade.web.page import REVIEWS_SHOWN

    aid = fresh_env.assets[0].asset_id
    n = REVIEWS_SHOWN + 5
    for v in range(1, n + 1):
        with fresh_env.ws.session() as s:
            add_review(s, aid, reviewer="carol", expected_version=v, grade="B", note=f"pass {v}")
    html = fresh_env.login("alice").get(f"/ui/assets/{aid}").text
    history = html.split('id="h-hist"')[1].split("</ul>")[0]
    assert f"the newest {REVIEWS_SHOWN} of {n}" in history
    assert history.count("<li>") == REVIEWS_SHOWN and f"pass {n}<" in history and "pass 5<" not in history


def test_ui_errors_name_places_in_the_workspace_not_the_servers_paths(trained_env: Any) -> None:
    # the JSON errors said <workspace>; the HTML pages printed where the server keeps the workspace
    import shutil

    env = trained_env
    secret = str(env.ws.path)
    c = env.login("admin")
    pickle, info = env.ws.grader_dir / "grader.pkl", env.ws.grader_dir / "bundle.json"
    intact = pickle.read_bytes()
    pickle.write_bytes(intact[: len(intact) // 2])  # half-copied: the error page (503) names the file
    r = c.post("/ui/assets/new-01/grade", follow_redirects=False)
    assert r.status_code == 503 and "Error 503" in r.text and "does not match the sha256" in r.text, r.text
    assert "&lt;workspace&gt;/models/grader/grader.pkl" in r.text and secret not in r.text
    r = c.post("/ui/requests/round", data={"k": "3", "strategy": "typiclust"}, follow_redirects=False)
    assert r.status_code == 303  # bundle.json reads: the job finds the damage, its banner names the file
    job = r.headers["location"].rsplit("=", 1)[1]
    env.client.app.state.assetgrade.rounds().wait(job, timeout=120)
    html = c.get(r.headers["location"]).text
    assert f"Round {job} failed" in html and "&lt;workspace&gt;/models/grader" in html and secret not in html
    pickle.write_bytes(intact)
    info_text = info.read_text(encoding="utf-8")
    info.write_text("{not json", encoding="utf-8")  # the form's check finds it: said above the form, input kept
    r = c.post("/ui/requests/round", data={"k": "4", "strategy": "typiclust"})
    assert r.status_code == 503 and "Not started" in r.text and 'value="4"' in r.text, r.text
    assert "&lt;workspace&gt;/models/grader/bundle.json" in r.text and secret not in r.text
    info.write_text(info_text, encoding="utf-8")
    shutil.rmtree(env.ws.grader_dir)  # no grader: said on the asset page
    r = c.post("/ui/assets/new-01/grade", follow_redirects=False)
    assert r.status_code == 404 and "Not graded: no saved grader at &lt;workspace&gt;/models/grader" in r.text
    assert secret not in r.text
