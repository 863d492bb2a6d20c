"""Every place that needs the workspace's grader and finds none says the same: what to label first while
``assetgrade train`` cannot make one yet, else to train (REST 404s, the web UI's Grade now, the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import NotFoundError
from assetgrade.rest import RestSettings, create_app, create_token
from assetgrade.store.repository import add_asset, add_label
from assetgrade.workspace import Workspace

SETTINGS = RestSettings(token_cache_s=0.0, session_secret="t" * 32)
runner = CliRunner()

# the workspaces: their grade labels (asset -> [(grade, annotator)]), and what the message says is missing
NO_ASSETS = (None, "the workspace has no assets (assetgrade ingest adds them)")
MACHINE_ONLY = ({"a1": [("B", "pseudo")], "a2": [("C", "model")]}, "none of the 4 assets has a grade label")
ONE_GRADE = ({"a1": [("B", "ana")], "a2": [("D", "ana"), ("B", "bob")], "a3": [("C", "pseudo")]},
             "its 2 labelled asset(s) are all of grade B")
TWO_GRADES = ({"a1": [("A", "ana")], "a2": [("C", "ana")]}, None)
CASES = [NO_ASSETS, MACHINE_ONLY, ONE_GRADE, TWO_GRADES]
IDS = ["no-assets", "machine-labels-only", "one-grade", "two-grades"]


def _workspace(path: Path, labels: dict[str, list[tuple[str, str]]] | None) -> str:
    """Four pump assets a1..a4 with ``labels`` (an asset's later ones stored later), or none; the admin token."""
    with Workspace.init(path) as ws:
        with ws.session() as s:
            if labels is not None:
                for aid in ("a1", "a2", "a3", "a4"):
                    add_asset(s, aid, asset_type="pump")
            token, _ = create_token(s, name="admin", role="admin", actor="test")
        for step in range(2):
            with ws.session() as s:
                for aid, given in (labels or {}).items():
                    if step < len(given):
                        add_label(s, asset_id=aid, kind="grade", value=given[step][0], annotator=given[step][1])
    return token


def _check(msg: str, what: str | None) -> None:
    """``what`` is missing, and the message says how to label and then to train; None: it says to train only."""
    msg = " ".join(msg.split())
    assert msg.startswith("no saved grader at "), msg
    if what is None:
        assert msg.endswith("; run: assetgrade train") and "cannot make one yet" not in msg, msg
        return
    assert f"assetgrade train cannot make one yet: {what}. Label assets of at least two grades first" in msg, msg
    assert "POST /api/v1/assets/ASSET_ID/reviews" in msg and "assetgrade ingest manifest" in msg, msg
    assert msg.endswith("then run: assetgrade train"), msg


@pytest.fixture(params=CASES, ids=IDS)
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, str, str | None, bool]]:
    """A served workspace of each case: the client, the admin token, what is missing, whether it has assets."""
    labels, what = request.param
    token = _workspace(tmp_path / "ws", labels)
    with Workspace.open(tmp_path / "ws") as ws, TestClient(create_app(ws, SETTINGS)) as client:
        yield client, token, what, labels is not None


def test_the_model_route_says_what_to_label_first(served: tuple[TestClient, str, str | None, bool],
                                                  tmp_path: Path) -> None:
    client, token, what, _ = served
    r = client.get("/api/v1/model", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    _check(r.json()["detail"], what)
    assert str(tmp_path) not in r.json()["detail"]  # the server's paths are not shown to a client


def test_grading_an_asset_says_what_to_label_first(served: tuple[TestClient, str, str | None, bool]) -> None:
    client, token, what, has_assets = served
    r = client.post("/api/v1/assets/a1/grade", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    if not has_assets:  # an unknown asset is said first, before any grader is looked for
        assert "a1" in r.json()["detail"] and "saved grader" not in r.json()["detail"]
        return
    _check(r.json()["detail"], what)


def test_the_asset_pages_grade_now_says_it_too(tmp_path: Path) -> None:
    labels, what = ONE_GRADE
    token = _workspace(tmp_path / "ws", labels)
    with Workspace.open(tmp_path / "ws") as ws, TestClient(create_app(ws, SETTINGS)) as client:
        assert client.post("/ui/login", data={"token": token, "next": "/ui/queue"},
                           follow_redirects=False).status_code == 303
        client.headers["Origin"] = str(client.base_url).rstrip("/")
        r = client.post("/ui/assets/a1/grade", follow_redirects=False)
    assert r.status_code == 404
    assert f"assetgrade train cannot make one yet: {what}" in " ".join(r.text.split())


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("command", [["grade", "a1"], ["grade", "--all"], ["explain", "a1"], ["batch", "grade"]],
                         ids=["grade", "grade-all", "explain", "batch-grade"])
def test_the_cli_says_what_to_label_first(tmp_path: Path, case: tuple[dict[str, list[tuple[str, str]]] | None,
                                                                         str | None], command: list[str]) -> None:
    labels, what = case
    _workspace(tmp_path / "ws", labels)
    r = runner.invoke(build_app(), [*command, "-w", str(tmp_path / "ws")])
    assert isinstance(r.exception, NotFoundError), r.output
    assert exit_code_for(r.exception) == 3
    _check(str(r.exception), what)


def test_another_model_folder_keeps_its_own_message(tmp_path: Path) -> None:
    _workspace(tmp_path / "ws", MACHINE_ONLY[0])
    for command in (["grade", "a1"], ["batch", "grade"]):
        r = runner.invoke(build_app(), [*command, "-w", str(tmp_path / "ws"), "--model", str(tmp_path / "elsewhere")])
        assert isinstance(r.exception, NotFoundError), r.output
        assert "elsewhere" in str(r.exception) and "cannot make one yet" not in str(r.exception)
