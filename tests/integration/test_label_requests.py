"""Label requests through the API and the web UI: a new round, listed in order, answered by a review, withdrawn."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import delete

from assetgrade.grader import Grader
from assetgrade.review.suggest import suggest_labels
from assetgrade.store.loading import load_records
from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.schema import Label

from .conftest import RestEnv
from .trained_workspace import unlabelled_ids


def _request(env: Any, ids: list[str]) -> None:
    with env.ws.session() as s:  # the demo assets come labelled: these stand for unlabelled ones
        s.execute(delete(Label).where(Label.asset_id.in_(ids), Label.kind == "grade"))
        rep = add_label_requests(s, [RequestedLabel(a, i + 1, "typiclust", "B", 0.41) for i, a in enumerate(ids)],
                                 strategy="budget_switch", model_version="m-test", requested_by="carol")
    assert rep.added == ids


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
    c = env.login("alice")
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



def test_ui_says_when_an_imported_grade_answered_the_request(fresh_env: Any, tmp_path: Any) -> None:
    from assetgrade.ingest import Ingestor, manifest_items

    env = fresh_env
    aid = env.assets[0].asset_id
    _request(env, [aid])
    manifest = tmp_path / "grades.csv"
    manifest.write_text(f"asset_id,kind,text,grade\n{aid},log,inspected on site,B\n", encoding="utf-8")
    assert Ingestor(env.ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest)).ok
    page = env.login("alice").get(f"/ui/assets/{aid}").text
    assert "answered by an imported grade" in page and "None" not in page.split('id="label-request"')[1][:200]


# -- a new round over the API and the UI form: needs a workspace with a trained grader ------------------------------

def _open(env: RestEnv) -> list[str]:
    page = env.client.get("/api/v1/review/requests", headers=env.auth("alice")).json()
    return [i["asset_id"] for i in page["items"]]


def test_admin_asks_for_a_round_and_it_is_stored(trained_env: RestEnv) -> None:
    env = trained_env
    r = env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json={"k": 4})
    assert r.status_code == 201, r.text
    out = r.json()
    ids = [s["asset_id"] for s in out["suggestions"]]
    assert out["batch_id"].startswith("lrq") and out["requested_by"] == "admin" and out["strategy"] == "budget_switch"
    assert len(set(ids)) == 4 and set(ids) <= set(unlabelled_ids()) and out["added"] == ids
    assert out["refreshed"] == out["withdrawn"] == [] and out["skipped"] == {}
    assert (out["labelled"], out["assets"]) == (24, 32)
    assert {s["chosen_by"] for s in out["suggestions"]} == {"typiclust"}  # 24 labels < 10 per grade x 4 grades
    # the workspace's own trained grader made them: the library call over the same workspace agrees
    same = suggest_labels(Grader.load(env.ws.models_dir / "grader"), load_records(env.ws), k=4)
    assert [s.asset_id for s in same] == ids and out["model_version"].startswith("grader-")
    page = env.client.get("/api/v1/review/requests", headers=env.auth("alice")).json()
    assert [i["asset_id"] for i in page["items"]] == ids
    assert {i["batch_id"] for i in page["items"]} == {out["batch_id"]} and page["items"][0]["requested_by"] == "admin"
    events = env.client.get("/api/v1/audit/events?action=label_request.add", headers=env.auth("admin")).json()
    assert [(e["actor"], e["entity_id"]) for e in events["items"]] == [("admin", out["batch_id"])]
    # per_class passes through to budget_switch: 24 labels >= 2 per grade, so it follows the grader's uncertainty
    r = env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json={"k": 2, "per_class": 2})
    assert r.status_code == 201 and {s["chosen_by"] for s in r.json()["suggestions"]} == {"uncertain_coreset"}


def test_replace_withdraws_what_the_new_round_does_not_repeat(trained_env: RestEnv) -> None:
    env = trained_env
    first = env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json={"k": 4}).json()
    keep = env.client.post("/api/v1/review/requests", headers=env.auth("admin"),
                           json={"k": 2, "strategy": "random", "seed": 5}).json()
    assert keep["withdrawn"] == [] and len(_open(env)) == len(set(first["added"]) | set(keep["added"]
                                                                                       + keep["refreshed"]))
    r = env.client.post("/api/v1/review/requests", headers=env.auth("admin"),
                        json={"k": 3, "strategy": "random", "seed": 1, "replace": True})
    assert r.status_code == 201, r.text
    out = r.json()
    new = [s["asset_id"] for s in out["suggestions"]]
    before = set(first["added"]) | set(keep["added"]) | set(keep["refreshed"])
    assert out["refreshed"] == [a for a in new if a in before] and out["added"] == [a for a in new if a not in before]
    assert sorted(out["withdrawn"]) == sorted(before - set(new)) and out["withdrawn"]
    assert _open(env) == new
    gone = env.client.get("/api/v1/review/requests?status=withdrawn", headers=env.auth("alice")).json()
    assert sorted(i["asset_id"] for i in gone["items"]) == sorted(out["withdrawn"])


def test_bad_rounds_are_422_naming_the_field_and_store_nothing(trained_env: RestEnv) -> None:
    env = trained_env
    post = lambda body: env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json=body)  # noqa: E731
    r = post({"strategy": "oracle"})
    assert r.status_code == 422 and r.json()["where"] == "strategy"
    assert "unknown strategy 'oracle'" in r.json()["detail"] and "budget_switch" in r.json()["detail"]
    r = post({"strategy": "margin", "per_class": 3})
    assert r.status_code == 422 and r.json()["where"] == "per_class" and "budget_switch" in r.json()["reason"]
    assert post({"k": 0}).json()["where"] == "body.k"
    assert post({"per_class": -1}).json()["where"] == "body.per_class"
    r = post({"k": 3, "n": 3})
    assert r.status_code == 422 and r.json()["where"] == "body.n"  # unknown fields are refused
    assert _open(env) == []


def test_without_a_trained_grader_it_is_404_saying_to_train(trained_env: RestEnv) -> None:
    env = trained_env
    shutil.rmtree(env.ws.models_dir / "grader")
    r = env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json={"k": 3})
    assert r.status_code == 404 and r.json()["error"] == "NotFoundError"
    assert "no saved grader" in r.json()["detail"] and "assetgrade train" in r.json()["detail"]
    assert _open(env) == []


def _finish(env: RestEnv, job_id: str) -> None:
    """Wait for the server's round runner to finish the job (the tests' client shares the process)."""
    env.client.app.state.assetgrade.rounds().wait(job_id, timeout=120)  # type: ignore[attr-defined]


def test_a_round_in_the_background_is_queued_then_read_back_done(trained_env: RestEnv) -> None:
    env = trained_env
    r = env.client.post("/api/v1/review/requests?wait=false", headers=env.auth("admin"), json={"k": 4, "seed": 2})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["job_id"].startswith("round_") and r.headers["location"] == job["url"] == \
        f"/api/v1/review/rounds/{job['job_id']}"
    assert job["status"] in ("queued", "running", "done") and job["requested_by"] == "admin"
    assert job["settings"] == {"k": 4, "strategy": "budget_switch", "per_class": None, "seed": 2, "replace": False}
    _finish(env, job["job_id"])
    r = env.client.get(job["url"], headers=env.auth("admin"))
    assert r.status_code == 200
    done = r.json()
    assert done["status"] == "done" and done["error"] is None and done["finished_at"] >= done["started_at"]
    rnd = done["round"]
    assert rnd["batch_id"].startswith("lrq") and len(rnd["added"]) == 4 and _open(env) == rnd["added"]
    # the same round as a synchronous call with the same settings would have chosen
    same = suggest_labels(Grader.load(env.ws.grader_dir), load_records(env.ws), k=4, seed=2)
    assert [s["asset_id"] for s in rnd["suggestions"]] == [s.asset_id for s in same]
    # its life is in the audit trail, under the job id
    events = env.client.get(f"/api/v1/audit/events?entity_id={job['job_id']}", headers=env.auth("admin")).json()
    assert [e["action"] for e in events["items"]] == ["review.round_queued", "review.round_started",
                                                      "review.round_done"]
    assert env.client.get(job["url"], headers=env.auth("alice")).status_code == 403
    assert env.client.get("/api/v1/review/rounds/round_nope", headers=env.auth("admin")).status_code == 404


def test_a_background_round_is_checked_before_it_is_queued(trained_env: RestEnv) -> None:
    env = trained_env
    post = lambda body: env.client.post("/api/v1/review/requests?wait=false", headers=env.auth("admin"),  # noqa: E731
                                        json=body)
    r = post({"strategy": "margin", "per_class": 3})
    assert r.status_code == 422 and r.json()["where"] == "per_class"
    shutil.rmtree(env.ws.grader_dir)
    r = post({"k": 3})
    assert r.status_code == 404 and "assetgrade train" in r.json()["detail"]
    events = env.client.get("/api/v1/audit/events?action=review.round_queued", headers=env.auth("admin")).json()
    assert events["items"] == []  # nothing was queued


def test_a_failing_round_reads_failed_with_its_error(trained_env: RestEnv) -> None:
    env = trained_env
    state = env.client.app.state.assetgrade  # type: ignore[attr-defined]
    # the bundle is there (submit checks it) but its pickle is broken: written before submitting, since
    # the worker thread may load the grader before this thread runs again
    (env.ws.grader_dir / "grader.pkl").write_bytes(b"not a pickle")
    job_id = state.rounds().submit(k=3, requested_by="admin")
    _finish(env, job_id)  # the runner records the failure: the job's future itself ends normally
    job = env.client.get(f"/api/v1/review/rounds/{job_id}", headers=env.auth("admin")).json()
    assert job["status"] == "failed" and "sha256" in job["error"] and job["round"] is None
    assert _open(env) == []


def test_a_running_round_shows_its_latest_step(trained_env: RestEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import assetgrade.review.suggest as suggest

    env = trained_env
    release, reached = threading.Event(), threading.Event()
    real = suggest.label_round

    def slow_round(*args: Any, progress: Any = None, **kw: Any) -> Any:
        progress("grading assets 1-32 of 32")
        reached.set()
        release.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(suggest, "label_round", slow_round)
    job = env.client.post("/api/v1/review/requests?wait=false", headers=env.auth("admin"), json={"k": 2}).json()
    assert reached.wait(30)
    running = env.client.get(job["url"], headers=env.auth("admin")).json()
    assert running["status"] == "running" and running["step"] == "grading assets 1-32 of 32"
    html = env.login("admin").get(f"/ui/requests?job={job['job_id']}").text
    assert "is running" in html and "Now: grading assets 1-32 of 32." in html
    release.set()
    _finish(env, job["job_id"])
    done = env.client.get(job["url"], headers=env.auth("admin")).json()
    assert done["status"] == "done" and done["step"] is None and len(done["round"]["added"]) == 2


def test_a_round_and_what_records_it_are_one_transaction(trained_env: RestEnv) -> None:
    from assetgrade.review.suggest import label_round

    def fails(_session: Any, _round: Any) -> None:
        raise RuntimeError("the done event could not be written")

    with pytest.raises(RuntimeError):
        label_round(trained_env.ws, k=3, enqueue=True, on_stored=fails)
    assert _open(trained_env) == []  # no requests without their job's end
    rnd = label_round(trained_env.ws, k=3, enqueue=True, on_stored=lambda s, r: None)
    assert rnd.enqueued is not None and _open(trained_env) == rnd.enqueued.added


def test_a_round_whose_process_died_reads_lost(trained_env: RestEnv) -> None:
    import socket

    from assetgrade.review.rounds import QUEUED, ROUND_ENTITY
    from assetgrade.store.audit import append_event

    env = trained_env
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    with env.ws.session() as s:
        append_event(s, actor="admin", action=QUEUED, entity=ROUND_ENTITY, entity_id="round_dead",
                     payload={"settings": {"k": 3}, "host": socket.gethostname(), "pid": int(dead.stdout)})
        append_event(s, actor="admin", action=QUEUED, entity=ROUND_ENTITY, entity_id="round_elsewhere",
                     payload={"settings": {"k": 3}, "host": "another-host", "pid": int(dead.stdout)})
    job = env.client.get("/api/v1/review/rounds/round_dead", headers=env.auth("admin")).json()
    assert job["status"] == "lost" and job["round"] is None
    job = env.client.get("/api/v1/review/rounds/round_elsewhere", headers=env.auth("admin")).json()
    assert job["status"] == "queued"  # another host's process cannot be checked from here


def test_only_an_admin_asks_for_a_round(trained_env: RestEnv) -> None:
    env = trained_env
    for name in ("alice", "station-1"):
        r = env.client.post("/api/v1/review/requests", headers=env.auth(name), json={"k": 3})
        assert r.status_code == 403 and "admin" in r.json()["detail"], name
    assert env.client.post("/api/v1/review/requests", json={"k": 3}).status_code == 401
    assert _open(env) == []


def test_ui_form_asks_for_a_round_and_shows_what_it_added(trained_env: RestEnv) -> None:
    env = trained_env
    c = env.login("alice")  # a reviewer sees the list, not the form, and may not post it
    assert 'id="round-form"' not in c.get("/ui/requests").text
    r = c.post("/ui/requests/round", data={"k": "3", "strategy": "typiclust"}, follow_redirects=False)
    assert r.status_code == 403 and _open(env) == []
    c = env.login("admin")
    page = c.get("/ui/requests").text
    assert 'id="round-form"' in page and '<option value="budget_switch" selected>' in page
    r = c.post("/ui/requests/round", data={"k": "3", "strategy": "typiclust"}, headers={"Origin": "https://evil.example"},
               follow_redirects=False)
    assert r.status_code == 403 and _open(env) == []  # cross-site post
    r = c.post("/ui/requests/round", data={"k": "3", "strategy": "typiclust"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/requests?job=round_")
    _finish(env, r.headers["location"].rsplit("=", 1)[1])
    ids = _open(env)
    assert len(ids) == 3
    html = c.get(r.headers["location"]).text
    assert "Label requests <small>(3 open)" in html and re.search(r"New round lrq\w+: 3 added, 0 moved into it", html)
    assert re.findall(r'<td><a href="/ui/assets/([^"]+)">', html) == ids and "admin" in html
    assert 'http-equiv="refresh"' not in html  # done: the page stops refreshing
    # replace: the next round withdraws the first one's requests it does not repeat
    r = c.post("/ui/requests/round", data={"k": "1", "strategy": "random", "replace": "on"}, follow_redirects=False)
    assert r.status_code == 303
    _finish(env, r.headers["location"].rsplit("=", 1)[1])
    assert len(_open(env)) == 1
    gone = env.client.get("/api/v1/review/requests?status=withdrawn", headers=env.auth("alice")).json()["total"]
    assert gone >= 2 and f"{gone} earlier ones withdrawn" in c.get(r.headers["location"]).text
    # a job still running: the banner says so and the page refreshes itself; reviewers see no job banner
    from assetgrade.review.rounds import QUEUED, ROUND_ENTITY
    from assetgrade.store.audit import append_event

    with env.ws.session() as s:
        append_event(s, actor="admin", action=QUEUED, entity=ROUND_ENTITY, entity_id="round_waiting",
                     payload={"settings": {"k": 3}, "host": "another-host", "pid": 1})
    html = c.get("/ui/requests?job=round_waiting").text
    assert "Round round_waiting is queued" in html and 'http-equiv="refresh" content="2"' in html
    assert "No round job round_nope" in c.get("/ui/requests?job=round_nope").text
    assert "round_waiting" not in env.login("alice").get("/ui/requests?job=round_waiting").text
    c = env.login("admin")
    # a bad form is not started: the page says why and keeps the input
    r = c.post("/ui/requests/round", data={"k": "5", "strategy": "oracle", "replace": "on"})
    assert r.status_code == 422 and "Not started" in r.text and "unknown strategy" in r.text
    assert 'value="5"' in r.text and 'id="round-replace" checked' in r.text and len(_open(env)) == 1
    r = c.post("/ui/requests/round", data={"k": "lots", "strategy": "typiclust"})
    assert r.status_code == 422 and "k: must be a whole number from 1 to 1000, got &#39;lots&#39;" in r.text


def test_a_round_with_nothing_to_ask_stores_and_withdraws_nothing(trained_env: RestEnv) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app
    from assetgrade.review.suggest import label_round
    from assetgrade.store.audit import list_events
    from assetgrade.store.repository import add_label

    env = trained_env
    first = env.client.post("/api/v1/review/requests", headers=env.auth("admin"), json={"k": 3, "per_class": 2.5})
    assert first.status_code == 201, first.text
    with env.ws.session(readonly=True) as s:  # the round's settings are in its audit event
        ev = list_events(s, action="label_request.add", limit=10)
        assert ev[-1].payload["settings"] == {"k": 3, "per_class": 2.5, "seed": 0}
    opened = _open(env)
    assert len(opened) == 3
    with env.ws.session() as s:  # every asset now has a grade: the next round has nothing to ask for
        for aid in unlabelled_ids():
            add_label(s, asset_id=aid, kind="grade", value="B", source="import")
    rnd = label_round(env.ws, k=3, enqueue=True, replace=True, requested_by="lead")
    assert rnd.suggestions == [] and rnd.enqueued is not None and rnd.enqueued.withdrawn == []
    assert _open(env) == opened  # the earlier round's requests are still open
    r = CliRunner().invoke(build_app(), ["review", "suggest", "-w", str(env.ws.path), "--k", "3", "--enqueue",
                                         "--replace"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "nothing to suggest" in said and "no label requests stored or withdrawn" in said
    assert _open(env) == opened


def test_k_below_one_and_a_non_finite_per_class_are_refused(trained_env: RestEnv) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app, exit_code_for
    from assetgrade.errors import ValidationError
    from assetgrade.review.suggest import label_round

    env = trained_env
    _request(env, ["new-00"])
    for kwargs, where in (({"k": 0}, "k"), ({"k": -1}, "k"), ({"per_class": float("nan")}, "per_class"),
                          ({"per_class": float("inf")}, "per_class")):
        with pytest.raises(ValidationError) as err:
            label_round(env.ws, enqueue=True, replace=True, **kwargs)  # type: ignore[arg-type]
        assert err.value.where == where
    app = build_app()
    for args, opt in ((["--k", "0"], "--k"), (["--per-class", "nan"], "--per-class"),
                      (["--per-class", "inf"], "--per-class")):
        r = CliRunner().invoke(app, ["review", "suggest", "-w", str(env.ws.path), "--enqueue", "--replace", *args])
        assert isinstance(r.exception, ValidationError) and exit_code_for(r.exception) == 2, r.output
        assert r.exception.where == opt
    assert _open(env) == ["new-00"]


def test_a_replace_round_names_what_it_withdrew(trained_env: RestEnv, tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    env = trained_env
    _request(env, unlabelled_ids())  # all 8 asked for: a round of 2 withdraws at least 6
    out = tmp_path / "round.json"
    r = CliRunner().invoke(build_app(), ["review", "suggest", "-w", str(env.ws.path), "--k", "2", "--enqueue",
                                         "--replace", "--json", str(out)])
    assert r.exit_code == 0, r.output
    withdrawn = json.loads(out.read_text())["enqueued"]["withdrawn"]
    said = " ".join(r.output.split())
    assert len(withdrawn) == 6 and f"withdrawn (earlier rounds, not repeated): {', '.join(withdrawn)}" in said


def test_a_review_without_a_grade_leaves_the_request_open(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    _request(env, [aid])
    url = f"/api/v1/assets/{aid}/reviews"
    r = env.client.post(url, headers=env.auth("alice"), json={"expected_version": 1, "note": "cannot tell"})
    assert r.status_code == 201, r.text
    assert _open(env) == [aid]  # a note gives no grade label: the asset is still to be labelled
    r = env.client.post(url, headers=env.auth("alice"), json={"expected_version": 2, "grade": "B"})
    assert r.status_code == 201, r.text
    done = env.client.get("/api/v1/review/requests?status=done", headers=env.auth("alice")).json()["items"]
    assert _open(env) == [] and [(i["asset_id"], i["review_id"]) for i in done] == [(aid, r.json()["id"])]
