"""POST /api/v1/review/requests on a workspace with no grader says what to label first, as `review suggest` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import RestSettings, create_app, create_token
from assetgrade.store.audit import list_events
from assetgrade.store.repository import add_asset, add_label
from assetgrade.workspace import Workspace

SETTINGS = RestSettings(token_cache_s=0.0, session_secret="t" * 32)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Workspace, TestClient, str]]:
    """Four pump assets a1..a4 with the grade labels ``request.param`` (asset -> (grade, annotator)), served."""
    with Workspace.init(tmp_path / "ws") as ws:
        with ws.session() as s:
            for aid in ("a1", "a2", "a3", "a4"):
                add_asset(s, aid, asset_type="pump")
            for aid, (grade, annotator) in request.param.items():
                add_label(s, asset_id=aid, kind="grade", value=grade, annotator=annotator)
            token, _ = create_token(s, name="admin", role="admin", actor="test")
        with TestClient(create_app(ws, SETTINGS)) as client:
            yield ws, client, token


def _post(client: TestClient, token: str, wait: bool) -> tuple[int, str]:
    r = client.post(f"/api/v1/review/requests?wait={str(wait).lower()}", headers={"Authorization": f"Bearer {token}"},
                    json={"k": 3})
    return r.status_code, " ".join(str(r.json()["detail"]).split())


@pytest.mark.parametrize("served, what", [
    ({}, "none of the 4 assets has a grade label"),
    ({"a1": ("B", "pseudo"), "a2": ("C", "model")}, "none of the 4 assets has a grade label"),  # machine labels only
    ({"a1": ("B", "expert"), "a2": ("B", "expert")}, "its 2 labelled asset(s) are all of grade B"),
], indirect=["served"])
@pytest.mark.parametrize("wait", [True, False])
def test_a_round_before_train_can_run_says_what_to_label_first(served: tuple[Workspace, TestClient, str], what: str,
                                                               wait: bool) -> None:
    # both said only "no saved grader ...; run: assetgrade train", which then refused: nothing (or one grade) labelled
    ws, client, token = served
    code, msg = _post(client, token, wait)
    assert code == 404
    assert f"assetgrade train cannot make one yet: {what}. Label assets of at least two grades first" in msg, msg
    assert "POST /api/v1/assets/ASSET_ID/reviews" in msg and msg.endswith("then run: assetgrade train")
    with ws.session(readonly=True) as s:
        assert list_events(s, entity="label_round") == []  # nothing queued or stored


@pytest.mark.parametrize("served", [{"a1": ("A", "expert"), "a2": ("C", "expert")}], indirect=True)
def test_with_two_grades_labelled_it_says_to_train_as_before(served: tuple[Workspace, TestClient, str]) -> None:
    _, client, token = served
    code, msg = _post(client, token, True)
    assert code == 404 and msg.startswith("no saved grader at ") and msg.endswith("; run: assetgrade train")
    assert "cannot make one yet" not in msg
