"""Grading an asset through the API: recorded like the CLI does, from the evidence store when nothing changed."""

from __future__ import annotations

import shutil

import pytest

from assetgrade.grader import Grader
from assetgrade.store.loading import load_records

from .conftest import RestEnv


def test_a_station_grades_an_asset_and_it_is_recorded(trained_env: RestEnv) -> None:
    env = trained_env
    r = env.client.post("/api/v1/assets/new-03/grade", headers=env.auth("station-1"))
    assert r.status_code == 201, r.text
    out = r.json()
    want = Grader.load(env.ws.grader_dir).grade_many(load_records(env.ws, ["new-03"]))[0]
    assert out["asset_id"] == "new-03" and out["grade"] == want.grade and out["decision"] == want.decision
    assert out["distribution"] == pytest.approx(want.probabilities)
    latest = env.client.get("/api/v1/assets/new-03/grade", headers=env.auth("alice")).json()
    assert latest["id"] == out["id"]  # what GET /grade now answers
    events = env.client.get("/api/v1/audit/events?action=grade.decision", headers=env.auth("admin")).json()["items"]
    assert [(e["actor"], e["payload"]["asset_id"]) for e in events] == [("station-1", "new-03")]
    assert env.ws.evidence_cache_path.exists()  # its evidence is kept for the next time


def test_grading_again_reads_the_evidence_store_and_a_retrained_grader_is_picked_up(trained_env: RestEnv) -> None:
    env = trained_env
    first = env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("admin")).json()
    state = env.client.app.state.assetgrade  # type: ignore[attr-defined]
    loaded = state._grader
    assert loaded is not None and loaded.cache.misses > 0
    again = env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("admin")).json()
    assert again["grade"] == first["grade"] and again["id"] != first["id"]  # a new decision, recorded again
    assert state._grader is loaded and loaded.cache.hits > 0
    Grader(extractors=("text",), folds=2, seed=1,
           extractor_settings={"text": {"embedder": "hashing"}}).fit(env.ws).save(env.ws.grader_dir)
    third = env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("admin")).json()
    assert state._grader is not loaded and third["model_version"] == state._grader.version_


def test_who_may_grade_and_what_is_missing(trained_env: RestEnv) -> None:
    env = trained_env
    assert env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("alice")).status_code == 403
    assert env.client.post("/api/v1/assets/pump-01/grade").status_code == 401
    r = env.client.post("/api/v1/assets/no-such-pump/grade", headers=env.auth("admin"))
    assert r.status_code == 404 and "no-such-pump" in r.json()["detail"]
    shutil.rmtree(env.ws.grader_dir)
    r = env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("admin"))
    assert r.status_code == 404 and "assetgrade train" in r.json()["detail"]


def test_an_admin_grades_from_the_asset_page(trained_env: RestEnv) -> None:
    env = trained_env
    c = env.login("alice")  # a reviewer sees no button and may not post it
    assert 'id="grade-now-form"' not in c.get("/ui/assets/new-01").text
    assert c.post("/ui/assets/new-01/grade", follow_redirects=False).status_code == 403
    c = env.login("admin")
    page = c.get("/ui/assets/new-01").text
    assert 'id="grade-now-form"' in page and "Not graded yet." in page
    r = c.post("/ui/assets/new-01/grade", headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403  # cross-site post
    r = c.post("/ui/assets/new-01/grade", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/assets/new-01?graded=1"
    latest = env.client.get("/api/v1/assets/new-01/grade", headers=env.auth("admin")).json()
    page = c.get(r.headers["location"]).text
    assert f"Graded now with {latest['model_version']}: {latest['grade']} ({latest['decision']})." in page
    shutil.rmtree(env.ws.grader_dir)
    r = c.post("/ui/assets/new-01/grade", follow_redirects=False)
    assert r.status_code == 404 and 'id="grade-error"' in r.text and "assetgrade train" in r.text


def test_the_service_says_which_model_grades(trained_env: RestEnv) -> None:
    from assetgrade.grader import Grader as _Grader
    from assetgrade.lifecycle.registry import ModelRegistry

    env = trained_env
    assert env.client.get("/api/v1/model").status_code == 401
    r = env.client.get("/api/v1/model", headers=env.auth("alice"))
    served = _Grader.load(env.ws.grader_dir)
    assert r.status_code == 200 and r.json()["model_version"] == served.version_
    assert r.json()["registry_version"] is None and r.json()["grades"] == list(served.grades_)
    ModelRegistry(env.ws).register(served, version="v7")
    doc = env.client.get("/api/v1/model", headers=env.auth("alice")).json()
    assert (doc["registry_version"], doc["registry_status"]) == ("v7", "candidate")
    graded = env.client.post("/api/v1/assets/pump-01/grade", headers=env.auth("admin")).json()
    assert graded["model_version"] == doc["model_version"]  # the id predictions carry
    shutil.rmtree(env.ws.grader_dir)
    assert env.client.get("/api/v1/model", headers=env.auth("alice")).status_code == 404
