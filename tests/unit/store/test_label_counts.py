"""grade_label_counts (SQL) gives what load_records gives for AssetRecord.grade: the two must never drift apart."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.store.label_counts import GradeLabelCounts, grade_label_counts
from assetgrade.store.loading import load_records
from assetgrade.store.repository import add_asset, add_label, get_asset
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace


def _from_records(ws: Workspace) -> GradeLabelCounts:
    records = load_records(ws)
    grades = [r.grade for r in records if r.grade is not None]
    return GradeLabelCounts(assets=len(records), labelled=len(grades), grades=tuple(sorted(set(grades))))


def _counted(ws: Workspace) -> GradeLabelCounts:
    with ws.session(readonly=True) as s:
        return grade_label_counts(s)


def _review(ws: Workspace, aid: str, grade: str) -> None:
    with ws.session() as s:
        add_review(s, aid, reviewer="rita", expected_version=get_asset(s, aid).version, grade=grade)


def test_a_mixed_workspace_counts_as_load_records_does(ws: Workspace) -> None:
    with ws.session() as s:
        for aid in ("u1", "u2", "m1", "m2", "m3", "h1", "h2", "hm", "r1", "r2", "r3", "v1"):
            add_asset(s, aid, asset_type="pump")
        add_label(s, asset_id="m1", kind="grade", value="D", source="pseudo")  # machine labels only: no grade
        add_label(s, asset_id="m2", kind="grade", value="D", annotator=" Model ")
        add_label(s, asset_id="m3", kind="grade", value="D", source="AUTO", annotator="ana")
        add_label(s, asset_id="h1", kind="grade", value="A", annotator="ana")
        add_label(s, asset_id="h2", kind="grade", value="B", annotator="bob")
        add_label(s, asset_id="hm", kind="grade", value="C", annotator="ana")  # a human's C over a machine's D
        add_label(s, asset_id="hm", kind="grade", value="D", annotator="weak")
        add_label(s, asset_id="r1", kind="grade", value="B", annotator="ana")  # relabelled: the later import wins
        add_label(s, asset_id="r2", kind="grade", value="E", annotator="ana")  # E was corrected everywhere
        add_label(s, asset_id="v1", kind="grade", value="E", annotator="ana")
        add_label(s, asset_id="u1", kind="defect", value="crack", annotator="ana")  # not a grade label
    with ws.session() as s:
        add_label(s, asset_id="r1", kind="grade", value="C", annotator="bob")
        add_label(s, asset_id="r2", kind="grade", value="B", annotator="bob")
        add_label(s, asset_id="r3", kind="grade", value="D", annotator="bob")
    with ws.session() as s:
        add_label(s, asset_id="r3", kind="grade", value="A", annotator="cy")
    _review(ws, "v1", "A")  # a review over an import
    counted = _counted(ws)
    assert counted == _from_records(ws)
    assert counted == GradeLabelCounts(assets=12, labelled=7, grades=("A", "B", "C"))


def test_one_grade_after_corrections_is_one_grade(ws: Workspace) -> None:
    """Human labels of two values, but every asset's grade is B: train would refuse, so the counts say one grade."""
    with ws.session() as s:
        for aid in ("a1", "a2", "a3"):
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value="D", annotator="ana")
    for aid in ("a1", "a2", "a3"):
        _review(ws, aid, "B")
    _review(ws, "a1", "D")
    _review(ws, "a1", "B")  # the latest review wins
    counted = _counted(ws)
    assert counted == _from_records(ws) == GradeLabelCounts(assets=3, labelled=3, grades=("B",))
    assert not counted.trainable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_label_histories_count_as_load_records_does(ws: Workspace, seed: int) -> None:
    """Imports, relabels, reviews and machine labels in a random order over 30 assets, 8 at a time."""
    rng = np.random.default_rng(seed)
    who = ["ana", "bob", "pseudo", " Model ", "AUTO", "cy"]
    with ws.session() as s:
        for i in range(30):
            add_asset(s, f"a{i}", asset_type="pump")
    for _ in range(8):
        picked = rng.choice(30, size=int(rng.integers(1, 6)), replace=False)
        with ws.session() as s:
            for i in picked.tolist():
                add_label(s, asset_id=f"a{i}", kind="grade", value=str(rng.choice(list("ABCD"))),
                          annotator=str(rng.choice(who)), source=str(rng.choice(["import", "import", "weak"])))
        for i in rng.choice(30, size=int(rng.integers(0, 3)), replace=False).tolist():
            _review(ws, f"a{i}", str(rng.choice(list("AB"))))
    assert _counted(ws) == _from_records(ws)


def test_an_empty_workspace_has_nothing(ws: Workspace) -> None:
    assert _counted(ws) == _from_records(ws) == GradeLabelCounts(assets=0, labelled=0, grades=())
