"""`review suggest` and background rounds on a workspace with no grader: say what to label before saying to train."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import NotFoundError
from assetgrade.review.rounds import RoundRunner
from assetgrade.review.suggest import label_round
from assetgrade.store.audit import list_events
from assetgrade.store.repository import add_asset, add_label
from assetgrade.workspace import Workspace

runner = CliRunner()


def _workspace(path: Path, labels: dict[str, tuple[str, str]]) -> Path:
    """Four pump assets a1..a4; ``labels``: asset -> (grade, annotator)."""
    with Workspace.init(path) as ws, ws.session() as s:
        for aid in ("a1", "a2", "a3", "a4"):
            add_asset(s, aid, asset_type="pump")
        for aid, (grade, annotator) in labels.items():
            add_label(s, asset_id=aid, kind="grade", value=grade, annotator=annotator)
    return path


def _suggest(ws: Path) -> tuple[int, str]:
    r = runner.invoke(build_app(), ["review", "suggest", "-w", str(ws)])
    assert isinstance(r.exception, NotFoundError), r.output
    return exit_code_for(r.exception), " ".join(str(r.exception).split())


@pytest.mark.parametrize("labels, what", [
    ({}, "none of the 4 assets has a grade label"),
    ({"a1": ("B", "pseudo"), "a2": ("C", "model")}, "none of the 4 assets has a grade label"),  # machine labels only
    ({"a1": ("B", "expert"), "a2": ("B", "expert")}, "its 2 labelled asset(s) are all of grade B"),
])
def test_suggest_before_train_can_run_says_what_to_label_first(tmp_path: Path, labels: dict[str, tuple[str, str]],
                                                                what: str) -> None:
    """It said "run: assetgrade train", which then refused: no labels (or one grade) to learn from."""
    code, msg = _suggest(_workspace(tmp_path / "ws", labels))
    assert code == 3
    assert f"assetgrade train cannot make one yet: {what}. Label assets of at least two grades first" in msg, msg
    assert "/ui/assets/ASSET_ID" in msg and "POST /api/v1/assets/ASSET_ID/reviews" in msg
    assert "assetgrade ingest manifest" in msg and msg.endswith("then run: assetgrade train")
    r = runner.invoke(build_app(), ["train", "-w", str(tmp_path / "ws")])  # and train does refuse
    assert r.exception is not None and exit_code_for(r.exception) == 2
    assert "label assets of at least two grades" in str(r.exception)


def test_suggest_on_an_empty_workspace_says_to_ingest(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    msg = _suggest(tmp_path / "ws")[1]
    assert "cannot make one yet: the workspace has no assets (assetgrade ingest adds them)" in msg


def test_once_two_grades_are_labelled_it_says_to_train_as_before(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", {"a1": ("A", "expert"), "a2": ("C", "expert")})
    code, msg = _suggest(ws)
    assert code == 3 and msg.startswith("no saved grader at ") and msg.endswith("; run: assetgrade train")
    assert "cannot make one yet" not in msg


def test_a_background_round_is_refused_with_the_same_message_and_nothing_queued(tmp_path: Path) -> None:
    with Workspace.open(_workspace(tmp_path / "ws", {})) as ws:
        rounds = RoundRunner(ws)
        try:
            with pytest.raises(NotFoundError, match=r"none of the 4 assets has a grade label\. Label assets of at"):
                rounds.submit(k=3, requested_by="admin")
        finally:
            rounds.close()
        with pytest.raises(NotFoundError, match="none of the 4 assets has a grade label"):
            label_round(ws, k=3)
        with ws.session(readonly=True) as s:
            assert list_events(s, entity="label_round") == []


def test_another_model_folder_that_is_missing_keeps_its_own_message(tmp_path: Path) -> None:
    with Workspace.open(_workspace(tmp_path / "ws", {})) as ws, pytest.raises(NotFoundError) as err:
        label_round(ws, model=tmp_path / "elsewhere")
    assert "cannot make one yet" not in str(err.value) and "elsewhere" in str(err.value)
