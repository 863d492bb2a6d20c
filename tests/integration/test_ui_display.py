"""What the review UI's pages say about times and numbers, through the test client: every time is labelled with its
time zone, a tie for the most likely grade is not called a less likely grade."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from assetgrade.rest import create_app, create_token
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS

THIRD = 1 / 3
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?! UTC)(?!:\d)")
"""A date and time shown without "UTC" after it."""


def _client(tmp_path: Path) -> tuple[Workspace, TestClient]:
    ws = Workspace.init(tmp_path / "ws")
    with ws.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
        add_asset(s, "tie", asset_type="pump")
        add_prediction(s, "tie", model_version="m1", grade="A", distribution={"A": THIRD, "B": THIRD, "C": THIRD},
                       conformal_set=["A", "B", "C"], decision="review", expected_cost=0.9)
        add_asset(s, "cheaper", asset_type="pump")
        add_prediction(s, "cheaper", model_version="m1", grade="B", distribution={"A": 0.2, "B": 0.3, "C": 0.5},
                       conformal_set=["B", "C"], decision="review", expected_cost=0.8)
        add_evidence(s, asset_id="cheaper", kind="log", sha256="a" * 64, evidence_id="cheaper/log/1",
                     text="2026-03-01 pump P-7\nseal replaced\nno leak found", attributes={"date": "2026-03-01"})
        add_label_requests(s, [RequestedLabel("tie", 1, "margin", "A", 0.34)], strategy="margin",
                           model_version="m1", requested_by="olga")
    c = TestClient(create_app(ws, SMALL_LIMITS))
    assert c.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303
    c.headers["Origin"] = str(c.base_url).rstrip("/")
    return ws, c


def test_a_grade_tied_for_most_likely_is_not_called_less_likely(tmp_path: Path) -> None:
    ws, c = _client(tmp_path)
    with c:
        tie, cheaper = c.get("/ui/assets/tie").text, c.get("/ui/assets/cheaper").text
    ws.close()
    # A, B and C at a third each: the page said "A (33%) is ... not the most likely one: C (33%)"
    assert 'id="grade-vs-likely"' not in tie
    assert 'id="grade-vs-likely"' in cheaper and "not the most likely one: C (50%)" in cheaper


def test_every_time_shown_says_it_is_utc(tmp_path: Path) -> None:
    ws, c = _client(tmp_path)
    with c:
        v = c.get("/api/v1/assets/tie").json()["version"]
        assert c.post("/ui/assets/tie/review", data={"expected_version": str(v), "grade": "B"},
                      follow_redirects=False).status_code == 303
        asset = c.get("/ui/assets/tie").text
        with ws.session() as s:
            add_label_requests(s, [RequestedLabel("cheaper", 1, "margin", "C", 0.5)], strategy="margin",
                               model_version="m1", requested_by="olga")
        requested, requests = c.get("/ui/assets/cheaper").text, c.get("/ui/requests").text
    ws.close()
    main = asset.split('<main id="main">')[1]
    # the prediction's time, the review's time: a reviewer east or west of UTC read them as their own clock's
    assert len(re.findall(r" UTC", main)) >= 2 and not TIME.search(main), TIME.findall(main)
    assert 'id="label-request"' in requested and not TIME.search(requested.split('<main id="main">')[1])
    main = requests.split('<main id="main">')[1]
    assert " UTC · " in main and not TIME.search(main)


def test_a_missing_modality_is_said_not_left_out(tmp_path: Path) -> None:
    ws, c = _client(tmp_path)
    with c:
        bare, logged = c.get("/ui/assets/tie").text, c.get("/ui/assets/cheaper").text
    ws.close()
    # "No images." was said, while an asset without a log or sensor series just had no such section: a reviewer
    # could not tell evidence that does not exist from evidence the page did not show
    assert 'id="no-logs"' in bare and "No maintenance log entries." in bare
    assert 'id="no-series"' in bare and "No sensor series." in bare
    assert 'id="no-logs"' not in logged and "seal replaced" in logged


def test_a_right_to_left_override_in_an_id_stays_inside_it_in_the_window_title(tmp_path: Path) -> None:
    ws, c = _client(tmp_path)
    rtl = "pump-\u202eevil"
    with ws.session() as s:
        add_asset(s, rtl, asset_type="pump")
    with c:
        html = c.get(f"/ui/assets/{rtl}").text
    ws.close()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    # the override reversed " · assetgrade review" after it in the tab and history ("weiver edargtessa · "); the
    # isolate is written as references (a raw one would be shown as its code point, as the override is)
    assert title is not None and title.group(1) == "&#x2068;pump-\u27e8U+202E\u27e9evil&#x2069; · assetgrade review"
