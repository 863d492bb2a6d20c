"""Grade labels off the ontology's scale: the no-grader message counts only grades on it, names those off it and
says how to mend them, since ``assetgrade train`` refuses every such label (CLI, REST, and train itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.rest import RestSettings, create_app, create_token
from assetgrade.store.repository import add_asset, add_label, get_asset
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace

SETTINGS = RestSettings(token_cache_s=0.0, session_secret="t" * 32)
runner = CliRunner()

# the grade labels (asset -> grade, annotator ana) and what the message says about them; the scale is A-D
OFF_ONLY = ({"a1": "good", "a2": "bad", "a3": "good"},
            "its 3 labelled asset(s) have grades not on the ontology's scale A, B, C, D: 'good' (2 assets),"
            " 'bad' (1 asset).")
ONE_ON = ({"a1": "B", "a2": "good", "a3": "good", "a4": "B"},
          "2 of its 4 labelled asset(s) have grades not on the ontology's scale A, B, C, D: 'good' (2 assets);"
          " the other 2 are all of grade B.")
TWO_ON = ({"a1": "A", "a2": "C", "a3": "good", "a4": "b"},
          "2 of its 4 labelled asset(s) have grades not on the ontology's scale A, B, C, D: 'b' (1 asset),"
          " 'good' (1 asset).")
CASES = [OFF_ONLY, ONE_ON, TWO_ON]
IDS = ["off-scale-only", "one-grade-on-the-scale", "two-grades-on-the-scale"]
NEEDS_TWO = "Train needs assets of at least two grades on the scale (and at least as many as train's folds"


def _workspace(path: Path, labels: dict[str, str]) -> str:
    """Assets a1..a4 of type pump with ``labels`` by annotator ana; the admin token."""
    with Workspace.init(path) as ws, ws.session() as s:
        for aid in ("a1", "a2", "a3", "a4"):
            add_asset(s, aid, asset_type="pump")
        for aid, grade in labels.items():
            add_label(s, asset_id=aid, kind="grade", value=grade, annotator="ana")
        token, _ = create_token(s, name="admin", role="admin", actor="test")
    return token


def _check(msg: str, what: str, *, needs_two: bool) -> None:
    """The message names the grades off the scale, both ways to mend them and, when so, the two grades train needs."""
    msg = " ".join(msg.split())
    assert msg.startswith("no saved grader at "), msg
    assert f"assetgrade train cannot make one yet: {what} Train refuses grades off the scale." in msg, msg
    assert "Relabel those assets with grades on it" in msg and "POST /api/v1/assets/ASSET_ID/reviews" in msg, msg
    assert "assetgrade ontology show --yaml" in msg and "assetgrade config set ontology FILE" in msg, msg
    assert (NEEDS_TWO in msg) == needs_two, msg
    assert msg.endswith("; then run: assetgrade train"), msg


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_cli_names_the_grades_off_the_scale(tmp_path: Path, case: tuple[dict[str, str], str]) -> None:
    labels, what = case
    _workspace(tmp_path / "ws", labels)
    r = runner.invoke(build_app(), ["grade", "a1", "-w", str(tmp_path / "ws")])
    assert isinstance(r.exception, NotFoundError), r.output
    assert exit_code_for(r.exception) == 3
    _check(str(r.exception), what, needs_two=case is not TWO_ON)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_service_names_the_grades_off_the_scale(tmp_path: Path, case: tuple[dict[str, str], str]) -> None:
    labels, what = case
    token = _workspace(tmp_path / "ws", labels)
    with Workspace.open(tmp_path / "ws") as ws, TestClient(create_app(ws, SETTINGS)) as client:
        r = client.get("/api/v1/model", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    _check(r.json()["detail"], what, needs_two=case is not TWO_ON)
    assert str(tmp_path) not in r.json()["detail"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_train_refuses_what_the_message_names(tmp_path: Path, case: tuple[dict[str, str], str]) -> None:
    """The message says train cannot run because train itself refuses: two grades on the scale are not enough."""
    labels, _ = case
    _workspace(tmp_path / "ws", labels)
    r = runner.invoke(build_app(), ["train", "-w", str(tmp_path / "ws"), "--folds", "2"])
    assert isinstance(r.exception, ValidationError), r.output
    off = sorted({g for g in labels.values() if g not in "ABCD"})
    assert f"grades {off} are not on the scale ['A', 'B', 'C', 'D']" in str(r.exception)


def test_relabelled_on_the_scale_it_says_to_train(tmp_path: Path) -> None:
    _workspace(tmp_path / "ws", TWO_ON[0])
    with Workspace.open(tmp_path / "ws") as ws:
        for aid, grade in (("a3", "B"), ("a4", "D")):  # a review wins over the import
            with ws.session() as s:
                add_review(s, aid, reviewer="rita", expected_version=get_asset(s, aid).version, grade=grade)
    r = runner.invoke(build_app(), ["grade", "a1", "-w", str(tmp_path / "ws")])
    assert isinstance(r.exception, NotFoundError), r.output
    msg = " ".join(str(r.exception).split())
    assert msg.endswith("(bundle.json missing); run: assetgrade train") and "cannot make one yet" not in msg, msg


def test_many_grades_off_the_scale_are_named_first_few(tmp_path: Path) -> None:
    labels = {"a1": "A", **{f"x{i}": g for i, g in enumerate(["p", "q", "q", "r", "s", "t", "u", "v"])}}
    with Workspace.init(tmp_path / "ws") as ws, ws.session() as s:
        for aid, grade in labels.items():
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value=grade, annotator="ana")
    r = runner.invoke(build_app(), ["grade", "a1", "-w", str(tmp_path / "ws")])
    assert isinstance(r.exception, NotFoundError), r.output
    msg = " ".join(str(r.exception).split())
    assert ("8 of its 9 labelled asset(s) have grades not on the ontology's scale A, B, C, D: 'q' (2 assets),"
            " 'p' (1 asset), 'r' (1 asset), 's' (1 asset), 't' (1 asset) and 2 more grade(s); the other 1 is of"
            " grade A.") in msg, msg
