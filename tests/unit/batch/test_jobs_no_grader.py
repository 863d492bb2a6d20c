"""run_batch called from Python without a trained grader says what the CLI says: what to label first while
``assetgrade train`` cannot run (no_grader_error), not only "run: assetgrade train"."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.batch.jobs import run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.errors import NotFoundError
from assetgrade.store.repository import add_asset, add_label
from assetgrade.workspace import Workspace


def _workspace(path: Path, grades: dict[str, str]) -> Workspace:
    ws = Workspace.init(path)
    with ws.session() as s:
        for aid, grade in grades.items():
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value=grade, annotator="ana")
    return ws


@pytest.mark.parametrize("kind", ["grade", "extract"])
def test_a_workspace_of_one_grade_is_told_what_to_label(tmp_path: Path, kind: str) -> None:
    with (_workspace(tmp_path / "ws", {"a1": "B", "a2": "B"}) as ws, LocalExecutor(1) as ex,
          pytest.raises(NotFoundError) as err):
        run_batch(ws, kind, ex)
    msg = " ".join(str(err.value).split())
    assert "assetgrade train cannot make one yet: its 2 labelled asset(s) are all of grade B." in msg, msg
    assert "POST /api/v1/assets/ASSET_ID/reviews" in msg and msg.endswith("then run: assetgrade train"), msg


def test_grades_off_the_scale_are_named(tmp_path: Path) -> None:
    with (_workspace(tmp_path / "ws", {"a1": "A", "a2": "C", "a3": "good"}) as ws, LocalExecutor(1) as ex,
          pytest.raises(NotFoundError) as err):
        run_batch(ws, "grade", ex)
    msg = " ".join(str(err.value).split())
    assert ("1 of its 3 labelled asset(s) have grades not on the ontology's scale A, B, C, D: 'good' (1 asset)."
            in msg), msg


def test_two_grades_say_to_train_and_another_folder_keeps_its_own_message(tmp_path: Path) -> None:
    with _workspace(tmp_path / "ws", {"a1": "A", "a2": "C"}) as ws, LocalExecutor(1) as ex:
        with pytest.raises(NotFoundError, match=r"\(bundle.json missing\); run: assetgrade train$"):
            run_batch(ws, "grade", ex)
        # one grade, but the folder is not the workspace's
        with _workspace(tmp_path / "ws2", {"a1": "B"}) as one, pytest.raises(NotFoundError) as err:
            run_batch(one, "grade", ex, model_path=tmp_path / "elsewhere")
    assert "elsewhere" in str(err.value) and "cannot make one yet" not in str(err.value)
