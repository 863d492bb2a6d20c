"""grade_label_counts with the ontology's scale: the grades off it and their assets, as load_records gives them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from assetgrade.store.label_counts import GradeLabelCounts, grade_label_counts
from assetgrade.store.loading import load_records
from assetgrade.store.repository import add_asset, add_label, get_asset
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace

SCALE = ("A", "B", "C", "D")


def _from_records(ws: Workspace, scale: tuple[str, ...] = SCALE) -> GradeLabelCounts:
    grades = [r.grade for r in load_records(ws) if r.grade is not None]
    off = Counter(g for g in grades if g not in scale)
    return GradeLabelCounts(assets=len(load_records(ws)), labelled=len(grades), grades=tuple(sorted(set(grades))),
                            off_scale=tuple(sorted(off.items(), key=lambda gn: (-gn[1], gn[0]))))


def _counted(ws: Workspace, scale: tuple[str, ...] | None = SCALE) -> GradeLabelCounts:
    with ws.session(readonly=True) as s:
        return grade_label_counts(s, scale)


def _review(ws: Workspace, aid: str, grade: str) -> None:
    with ws.session() as s:
        add_review(s, aid, reviewer="rita", expected_version=get_asset(s, aid).version, grade=grade)


def test_grades_off_the_scale_are_counted_by_the_precedence_rule(ws: Workspace) -> None:
    with ws.session() as s:
        for aid in ("g1", "g2", "lost", "won", "both", "mix", "case", "mach", "on1", "on2"):
            add_asset(s, aid, asset_type="pump")
        add_label(s, asset_id="g1", kind="grade", value="good", annotator="ana")
        add_label(s, asset_id="g2", kind="grade", value="good", annotator="ana")
        add_label(s, asset_id="lost", kind="grade", value="bad", annotator="ana")  # a review of B wins below
        add_label(s, asset_id="won", kind="grade", value="A", annotator="ana")  # a later import of bad wins
        add_label(s, asset_id="both", kind="grade", value="good", annotator="ana")  # two values, both off
        add_label(s, asset_id="mix", kind="grade", value="A", annotator="ana")  # two values other assets settle
        add_label(s, asset_id="case", kind="grade", value="b", annotator="ana")  # b is not B
        add_label(s, asset_id="mach", kind="grade", value="junk", source="pseudo")  # a machine's: no grade
        add_label(s, asset_id="on1", kind="grade", value="A", annotator="ana")
        add_label(s, asset_id="on2", kind="grade", value="C", annotator="ana")
    with ws.session() as s:
        add_label(s, asset_id="won", kind="grade", value="bad", annotator="bob")
        add_label(s, asset_id="both", kind="grade", value="bad", annotator="bob")
        add_label(s, asset_id="mix", kind="grade", value="good", annotator="bob")  # the later import wins: good
        add_label(s, asset_id="on2", kind="grade", value="A", annotator="bob")  # disputed, both values on the scale
    _review(ws, "lost", "B")
    counted = _counted(ws)
    assert counted == _from_records(ws)
    assert counted.off_scale == (("good", 3), ("bad", 2), ("b", 1))
    assert counted.on_scale == ("A", "B") and counted.n_off_scale == 6 and counted.labelled == 9
    assert not counted.trainable  # two grades on the scale, but train refuses the six off it
    assert _counted(ws, None).off_scale == () and _counted(ws, None).trainable  # no scale given: as before


def test_relabelled_on_the_scale_the_workspace_can_train(ws: Workspace) -> None:
    with ws.session() as s:
        for aid in ("a1", "a2"):
            add_asset(s, aid, asset_type="pump")
            add_label(s, asset_id=aid, kind="grade", value="good", annotator="ana")
    assert _counted(ws).off_scale == (("good", 2),)
    _review(ws, "a1", "A")
    _review(ws, "a2", "C")
    counted = _counted(ws)
    assert counted == _from_records(ws) == GradeLabelCounts(assets=2, labelled=2, grades=("A", "C"))
    assert counted.trainable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_histories_with_grades_off_the_scale_count_as_load_records_does(ws: Workspace, seed: int) -> None:
    """Imports, relabels, reviews and machine labels, some in another vocabulary, in a random order."""
    rng = np.random.default_rng(seed)
    who = ["ana", "bob", "pseudo", " Model ", "cy"]
    values = [*"ABCD", "good", "bad", "b"]
    with ws.session() as s:
        for i in range(30):
            add_asset(s, f"a{i}", asset_type="pump")
    for _ in range(8):
        picked = rng.choice(30, size=int(rng.integers(1, 6)), replace=False)
        with ws.session() as s:
            for i in picked.tolist():
                add_label(s, asset_id=f"a{i}", kind="grade", value=str(rng.choice(values)),
                          annotator=str(rng.choice(who)), source=str(rng.choice(["import", "import", "weak"])))
        for i in rng.choice(30, size=int(rng.integers(0, 3)), replace=False).tolist():
            _review(ws, f"a{i}", str(rng.choice(list("AB"))))
    counted = _counted(ws)
    assert counted == _from_records(ws)
    assert counted.off_scale  # the seeds leave some off the scale: the counts were tested, not only their absence
