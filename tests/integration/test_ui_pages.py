"""What the web UI's pages say, through the test client: an empty dashboard, error pages of a logged-in reviewer,
a refused review's reason beside its field, and a conflict caused by new evidence rather than a review."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from assetgrade.rest import create_app, create_token
from assetgrade.store.repository import add_evidence
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS


def test_a_dashboard_without_predictions_says_so_instead_of_empty_plots(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    with ws.session() as s:
        token, _ = create_token(s, name="olga", role="admin", actor="test")
    with TestClient(create_app(ws, SMALL_LIMITS)) as c:
        assert c.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303
        html = c.get("/ui/dashboard").text
    ws.close()
    assert 'id="no-data"' in html and "No predictions or reviews yet" in html
    assert "<svg" not in html and "over 0 day(s)" not in html  # four blank plots told an operations lead nothing


def test_the_dashboard_writes_each_rates_latest_value(fresh_env: Any) -> None:
    html = fresh_env.login("alice").get("/ui/dashboard").text
    values = re.findall(r'<text [^>]*class="val">([^<]+)</text>', html)
    # auto-accept rate and mean expected cost, readable without hovering over a point; no reviews, no override rate
    assert len(values) == 2 and values[0].endswith("%") and not values[1].endswith("%")


def test_error_pages_keep_the_top_bar_of_a_logged_in_reviewer(demo_env: Any) -> None:
    c = demo_env.client
    c.cookies.clear()
    assert c.post("/ui/login", data={"token": demo_env.tokens["alice"]}, follow_redirects=False).status_code == 303
    for path, status in (("/ui/nothing-here", 404), ("/ui/queue?offset=abc", 422), ("/ui/assets/no-such-asset", 404)):
        r = c.get(path)
        assert r.status_code == status, path
        # an unknown path or a bad query fails before a route reads the session: the page lost every link on
        assert 'action="/ui/logout"' in r.text and '<a href="/ui/dashboard">' in r.text, path
        assert "<bdi>alice</bdi>" in r.text, path
    c.cookies.clear()
    anonymous = c.get("/ui/nothing-here")
    assert anonymous.status_code == 404 and 'action="/ui/logout"' not in anonymous.text


def test_a_refused_review_says_why_beside_the_field_and_marks_it(fresh_env: Any) -> None:
    c = fresh_env.login("alice")
    target = c.get("/api/v1/queue?limit=1").json()["items"][0]
    aid, v = target["asset_id"], str(target["asset_version"])
    note = c.post(f"/ui/assets/{aid}/review", data={"expected_version": v, "grade": "B", "note": "y" * 10_001})
    assert note.status_code == 422
    assert re.search(r'<textarea id="note" [^>]*aria-invalid="true" aria-describedby="note-error"', note.text)
    assert re.search(r'</textarea>\s*<p class="field-error" id="note-error">String should have at most 10000',
                     note.text)
    grade = c.post(f"/ui/assets/{aid}/review", data={"expected_version": v, "note": "kept"},
                   headers={"HX-Request": "true"})
    assert grade.status_code == 422 and 'aria-describedby="grade-error"' in grade.text
    assert '<p class="field-error" id="grade-error">pick a grade (A, B, C, D)' in grade.text
    assert grade.text.count('aria-invalid="true"') == 4 and ">kept</textarea>" in grade.text
    defect = c.post(f"/ui/assets/{aid}/review", data={"expected_version": v, "grade": "B",
                                                      "defects_json": '[{"id": "rust_old"}]'})
    assert defect.status_code == 422 and 'class="invalid"' in defect.text
    assert re.search(r'id="defects-error">defects\[0\]\.id: unknown defect &#39;rust_old&#39;', defect.text)
    stale = c.post(f"/ui/assets/{aid}/review", data={"expected_version": "abc", "grade": "B"})
    assert stale.status_code == 422 and "field-error" not in stale.text  # not a field the reviewer filled in


def test_a_conflict_caused_by_new_evidence_does_not_offer_an_older_review_as_theirs(fresh_env: Any) -> None:
    env = fresh_env
    target = env.client.get("/api/v1/queue?limit=1", headers=env.auth("alice")).json()["items"][0]
    aid, v = target["asset_id"], target["asset_version"]
    ok = env.client.post(f"/api/v1/assets/{aid}/reviews", headers=env.auth("alice"),
                         json={"expected_version": v, "grade": "A", "note": "alice, last week"})
    assert ok.status_code == 201
    c = env.login("bob")
    text = "2026-03-02 crack found at the boom weld, machine parked"
    with env.ws.session() as s:  # a station sends a new log entry while bob has the page open
        add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                     actor="station-1")
    form = {"expected_version": str(v + 1), "grade": "A", "note": "bob's careful note"}
    hx = c.post(f"/ui/assets/{aid}/review", data=form, headers={"HX-Request": "true"})
    assert hx.status_code == 409
    panel, history = hx.text.split('<div id="review-history" hx-swap-oob="true">')  # the history comes out of band
    assert "alice, last week" not in panel and "Their review" not in panel  # not what changed the asset
    assert "alice, last week" in history  # the history lists it, as the full page does
    assert "New evidence was added to the asset after you opened this page, and this page does not show it" in hx.text
    assert 'id="open-current"' in hx.text and f'name="expected_version" value="{v + 2}"' in hx.text
    assert "bob&#39;s careful note" in hx.text
    page = c.post(f"/ui/assets/{aid}/review", data=form)  # without htmx the whole page comes back, with the entry
    assert page.status_code == 409 and "the page now shows it" in page.text and "crack found at the boom" in page.text
    reviewed = c.post(f"/ui/assets/{aid}/review", data={**form, "expected_version": str(v + 2)},
                      follow_redirects=False)
    assert reviewed.status_code == 303
    again = {**form, "expected_version": str(v + 1), "note": "carol"}
    theirs = env.login("alice").post(f"/ui/assets/{aid}/review", data=again, headers={"HX-Request": "true"})
    assert theirs.status_code == 409 and "Their review" in theirs.text and "bob&#39;s careful note" in theirs.text


def test_a_grade_other_than_the_most_likely_one_says_why(fresh_env: Any) -> None:
    from assetgrade.store.results import add_prediction

    env = fresh_env
    aid = env.client.get("/api/v1/queue?limit=1", headers=env.auth("alice")).json()["items"][0]["asset_id"]
    c = env.login("alice")
    with env.ws.session() as s:  # the cost matrix chose B although A is far more likely (seen on the demo's data)
        add_prediction(s, aid, model_version="m-test", grade="B", distribution={"A": 0.48, "B": 0.15, "C": 0.3,
                       "D": 0.07}, conformal_set=["A", "B", "C"], decision="review", expected_cost=812.0)
    html = c.get(f"/ui/assets/{aid}").text
    assert re.search(r'id="grade-vs-likely">B \(15%\) is the grade of lowest expected cost, not the most likely '
                     r"one: A \(48%\)", html), html
    with env.ws.session() as s:
        add_prediction(s, aid, model_version="m-test", grade="A", distribution={"A": 0.48, "B": 0.15, "C": 0.3,
                       "D": 0.07}, conformal_set=["A"], decision="accept", expected_cost=300.0)
    assert 'id="grade-vs-likely"' not in c.get(f"/ui/assets/{aid}").text  # the most likely grade needs no note


def test_the_grade_mix_colours_each_grade_as_its_badge(fresh_env: Any) -> None:
    from assetgrade.store.results import add_prediction

    env = fresh_env
    ids = [a["id"] for a in env.client.get("/api/v1/assets?limit=4", headers=env.auth("alice")).json()["items"]]
    with env.ws.session() as s:  # one prediction of each grade, and one of a grade the scale no longer has
        for aid, g in zip(ids, ("D", "A", "C", "X"), strict=True):
            add_prediction(s, aid, model_version="m-test", grade=g, distribution={g: 1.0}, conformal_set=[g],
                           decision="review")
    html = env.login("alice").get("/ui/dashboard").text
    legend = dict((g, colour) for colour, g in re.findall(r'<tspan fill="(#[0-9a-f]{6})">■ (\w+) </tspan>', html))
    css = (Path(__file__).resolve().parents[2] / "src/assetgrade/web/static/app.css").read_text()
    badge = dict(re.findall(r"\.g-(\w) \{ background: (#[0-9a-f]{6}); \}", css))
    assert set(badge) == {"A", "B", "C", "D"}
    assert {g: legend[g] for g in badge} == badge  # the dashboard drew D orange and C amber, red and orange elsewhere
    assert legend["X"] not in badge.values()
