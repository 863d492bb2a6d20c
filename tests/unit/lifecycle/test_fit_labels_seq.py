"""A Grader fitted on a workspace records the audit chain position before it read the labels, as retrain does.

docs/lifecycle.md, "Triggers": ``Grader.fit(workspace)`` (``assetgrade train``) records ``labels_seq``
and ``labels_seq_hash`` (the chain's last event just before it read the labels) in ``bundle.json``;
registration copies them into the lineage, so the new-labels trigger counts the reviews the store
received after that position, whatever the writing host's clock said. A bundle saved without them
is still counted by time. SQLite and PostgreSQL alike; a real text Grader on a small workspace.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.text_assets import seed_text_assets

import assetgrade.store.results as results_module
from assetgrade.grader import Grader
from assetgrade.lifecycle.registry import ModelInfo, ModelRegistry
from assetgrade.lifecycle.triggers import RetrainPolicy, Trigger, check_triggers
from assetgrade.store.audit import chain_head
from assetgrade.store.loading import load_records
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace

BEHIND = datetime(2001, 1, 1, tzinfo=UTC)
"""The clock of a host far behind (or a review kept with its original time)."""


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    return store_ws


def _review_on_clock(ws: Workspace, monkeypatch: pytest.MonkeyPatch, when: datetime, asset_ids: Sequence[str]) -> None:
    """Reviews written by a host whose clock says ``when``."""
    with monkeypatch.context() as m:
        m.setattr(results_module, "utcnow", lambda: when)
        with ws.session() as s:
            for aid in asset_ids:
                add_review(s, aid, reviewer="expert-2", expected_version=1, grade="C")


def _grader() -> Grader:
    return Grader(extractors=("text",), folds=2, seed=0)


def _new_labels(ws: Workspace, champ: ModelInfo) -> Trigger:
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(min_new_labels=2))
    return next(t for t in rep.triggers if t.name == "new_labels")


def test_a_workspace_fit_records_the_chain_position_before_it_read_the_labels(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed_text_assets(ws)
    with ws.session(readonly=True) as s:
        head = chain_head(s)
    assert head is not None
    said: list[str] = []

    def progress(msg: str) -> None:  # reviewers keep working while it fits: after the labels were read
        if not said:
            _review_on_clock(ws, monkeypatch, BEHIND, ids[:2])
        said.append(msg)

    g = _grader().fit(ws, progress=progress)
    assert (g.labels_seq_, g.labels_seq_hash_) == head
    info = json.loads((g.save(tmp_path / "grader") / "bundle.json").read_text())
    assert (info["labels_seq"], info["labels_seq_hash"]) == head
    loaded = Grader.load(tmp_path / "grader")
    assert (loaded.labels_seq_, loaded.labels_seq_hash_) == head
    reg = ModelRegistry(ws)
    reg.register(tmp_path / "grader", version="v1")  # a bundle folder: read from its bundle.json
    reg.register(g, version="v2")  # the fitted object
    for version in ("v1", "v2"):
        champ = reg.get(version)
        assert champ.lineage is not None
        assert (champ.lineage["labels_seq"], champ.lineage["labels_seq_hash"]) == head
        trig = _new_labels(ws, champ)  # stored while it fitted, on a clock 25 years behind: new all the same
        assert trig.value == 2.0 and trig.fired
        assert trig.info["since_source"] == "labels_seq" and trig.info["since_seq"] == head[0]


def test_reviews_stored_after_a_workspace_fit_count_whatever_their_clock(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed_text_assets(ws)
    reg = ModelRegistry(ws)
    reg.register(_grader().fit(ws), version="v1")
    champ = reg.get("v1")
    assert _new_labels(ws, champ).value == 0.0
    _review_on_clock(ws, monkeypatch, BEHIND, ids[3:6])  # stored after training; the host's clock says 2001
    trig = _new_labels(ws, champ)
    assert trig.value == 3.0 and trig.info["since_source"] == "labels_seq"


def test_a_bundle_saved_without_the_position_is_counted_by_time(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundles saved before the position was kept: counted from labels_as_of (a review on a clock behind is missed)."""
    ids = seed_text_assets(ws)
    g = _grader().fit(ws)
    old = tmp_path / "old"
    shutil.copytree(g.save(tmp_path / "grader"), old)
    info = json.loads((old / "bundle.json").read_text())
    for key in ("labels_seq", "labels_seq_hash"):
        del info[key]
    (old / "bundle.json").write_text(json.dumps(info))
    for attr in ("labels_seq_", "labels_seq_hash_"):  # and a pickled object from before
        delattr(g, attr)
    reg = ModelRegistry(ws)
    reg.register(old, version="v1")
    reg.register(g, version="v2")
    _review_on_clock(ws, monkeypatch, BEHIND, ids[3:5])
    _review_on_clock(ws, monkeypatch, datetime(2100, 1, 1, tzinfo=UTC), ids[5:8])
    for version in ("v1", "v2"):
        champ = reg.get(version)
        assert champ.lineage is not None and "labels_seq" not in champ.lineage
        trig = _new_labels(ws, champ)
        assert trig.value == 3.0 and trig.info["since_source"] == "labels_as_of" and trig.info["since_seq"] is None


def test_a_grader_given_records_records_no_position(ws: Workspace) -> None:
    seed_text_assets(ws)
    g = _grader().fit(load_records(ws))
    assert g.labels_seq_ is None and g.labels_seq_hash_ is None  # a list says nothing about the store
    reg = ModelRegistry(ws)
    reg.register(g, version="v1")
    lineage = reg.get("v1").lineage
    assert lineage is not None and "labels_seq" not in lineage
