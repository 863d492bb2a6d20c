"""bench grade-api on a workspace without a trained grader says what to label first while ``assetgrade train``
cannot run (no_grader_error), as grade and the service say, before it copies anything or starts a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.errors import NotFoundError
from assetgrade.loadtest.grade_bench import run_grade_api_bench
from assetgrade.store.repository import add_asset, add_label
from assetgrade.workspace import Workspace


def _workspace(path: Path, grades: dict[str, str]) -> None:
    with Workspace.init(path) as ws, ws.session() as s:
        for aid, grade in grades.items():
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value=grade, annotator="ana")


@pytest.mark.parametrize(("grades", "what"), [
    ({"a1": "B", "a2": "B"}, "its 2 labelled asset(s) are all of grade B."),
    ({"a1": "good", "a2": "bad"}, "its 2 labelled asset(s) have grades not on the ontology's scale A, B, C, D:"
                                  " 'bad' (1 asset), 'good' (1 asset)."),
], ids=["one-grade", "off-scale"])
def test_bench_grade_api_says_what_to_label_first(tmp_path: Path, grades: dict[str, str], what: str) -> None:
    _workspace(tmp_path / "ws", grades)
    with pytest.raises(NotFoundError) as err:
        run_grade_api_bench(tmp_path / "ws", n_assets=2, threads=1)
    msg = " ".join(str(err.value).split())
    assert f"assetgrade train cannot make one yet: {what}" in msg and msg.endswith("then run: assetgrade train"), msg


def test_two_grades_say_to_train(tmp_path: Path) -> None:
    _workspace(tmp_path / "ws", {"a1": "A", "a2": "C"})
    with pytest.raises(NotFoundError, match=r"\(bundle.json missing\); run: assetgrade train$"):
        run_grade_api_bench(tmp_path / "ws", n_assets=2, threads=1)
