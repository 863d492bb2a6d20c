"""The retraining trigger 'new labels' counts persons' reviews: a review posted under a machine's name is a machine
label (store.precedence.is_machine_label), as retrain's count of reviewed assets has it (docs/lifecycle.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetgrade.lifecycle.triggers import new_reviewed_labels
from assetgrade.store import add_asset, add_review
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def test_reviews_under_machine_names_are_not_new_reviewed_labels(ws: Workspace) -> None:
    with ws.session() as s:
        for aid in ("p1", "p2", "p3", "p4"):
            add_asset(s, aid, asset_type="pump")
    with ws.session() as s:
        add_review(s, "p1", reviewer="ana", expected_version=1, grade="B")
        add_review(s, "p2", reviewer=" Model ", expected_version=1, grade="C")   # a machine, any case and spaces
        add_review(s, "p3", reviewer="pseudo", expected_version=1, grade="D")
        add_review(s, "p4", reviewer="ben", expected_version=1, grade="A")
        add_review(s, "p4", reviewer="AUTO", expected_version=2, grade="A")
        add_review(s, "p1", reviewer="cat", expected_version=2, note="photo is blurred")  # no grade: no label
    with ws.session(readonly=True) as s:
        assert new_reviewed_labels(s) == 2  # ana's and ben's
