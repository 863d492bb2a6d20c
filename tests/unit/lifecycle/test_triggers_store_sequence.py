"""The new-labels trigger counts reviews the store received after retrain read its labels, not by servers' clocks.

docs/lifecycle.md, "Triggers": retrain records ``labels_seq``, the audit chain position just before it
read the labels; a review's grade label is new when its ``label.add`` event comes after it, whatever
the clock of the host that wrote the review said (``created_at``). Versions registered before (their
lineage holds only a time) are still counted by time. Each test sets the review times explicitly.
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

import assetgrade.store.results as results_module
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelInfo, ModelRegistry
from assetgrade.lifecycle.retrain import retrain
from assetgrade.lifecycle.triggers import RetrainPolicy, Trigger, check_triggers, new_reviewed_labels
from assetgrade.store.audit import chain_head
from assetgrade.store.records import AssetRecord
from assetgrade.store.results import add_review
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets

BEHIND = datetime(2001, 1, 1, tzinfo=UTC)
"""The clock of a host far behind (or a review kept with its original time)."""
AHEAD = datetime(2100, 1, 1, tzinfo=UTC)
"""The clock of a host far ahead."""


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    return store_ws


def _review_on_clock(ws: Workspace, monkeypatch: pytest.MonkeyPatch, when: datetime, asset_ids: Sequence[str],
                     grade: str = "C") -> None:
    """Reviews written by a host whose clock says ``when``."""
    with monkeypatch.context() as m:
        m.setattr(results_module, "utcnow", lambda: when)
        with ws.session() as s:
            for aid in asset_ids:
                add_review(s, aid, reviewer="expert-2", expected_version=1, grade=grade)


def _fit(records: Sequence[AssetRecord]) -> TableModel:
    return TableModel({"pump": "A", "valve": "C"})


def _new_labels(ws: Workspace, champ: ModelInfo | None) -> Trigger:
    with ws.session(readonly=True) as s:
        rep = check_triggers(s, champion=champ, policy=RetrainPolicy(min_new_labels=3))
    return next(t for t in rep.triggers if t.name == "new_labels")


def _seeded(ws: Workspace) -> list[str]:
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    return ids


def _champion(ws: Workspace) -> ModelInfo:
    champ = ModelRegistry(ws).champion()
    assert champ is not None and champ.lineage is not None
    return champ


def test_reviews_written_after_retraining_on_a_clock_behind_are_new(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seeded(ws)
    assert retrain(ws, fit=_fit, loader="table", version="v1", promote=True).promoted
    champ = _champion(ws)
    _review_on_clock(ws, monkeypatch, BEHIND, ids[12:15])  # stored after training; the host's clock says 2001
    trig = _new_labels(ws, champ)
    assert trig.value == 3.0 and trig.fired
    assert trig.info["since_source"] == "labels_seq" and trig.info["since_seq"] == champ.lineage["labels_seq"]
    assert "since the champion's training labels were read" in trig.message
    assert f"audit event {champ.lineage['labels_seq']}" in trig.message


def test_reviews_the_champion_trained_on_are_not_new_whatever_their_clock(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seeded(ws)
    _review_on_clock(ws, monkeypatch, AHEAD, ids[12:14])  # stored before training; the host's clock says 2100
    res = retrain(ws, fit=_fit, loader="table", version="v1", promote=True)
    assert res.promoted and res.n_reviewed == 2  # it trained on them
    champ = _champion(ws)
    assert _new_labels(ws, champ).value == 0.0
    _review_on_clock(ws, monkeypatch, BEHIND, ids[14:15])
    assert _new_labels(ws, champ).value == 1.0
    with ws.session(readonly=True) as s:  # the function the trigger calls, given the position
        assert new_reviewed_labels(s, after_seq=int(champ.lineage["labels_seq"])) == 1
        assert new_reviewed_labels(s) == 3


def test_retrain_records_the_chain_position_before_it_read_the_labels(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seeded(ws)
    with ws.session(readonly=True) as s:
        head = chain_head(s)
    assert head is not None

    def fit(records: Sequence[AssetRecord]) -> TableModel:
        _review_on_clock(ws, monkeypatch, BEHIND, ids[12:16])  # reviewers keep working while it trains
        return _fit(records)

    retrain(ws, fit=fit, loader="table", version="v1", promote=True)
    champ = _champion(ws)
    assert champ.lineage["labels_seq"] == head[0] and champ.lineage["labels_seq_hash"] == head[1]
    assert _new_labels(ws, champ).value == 4.0


def test_a_version_whose_lineage_holds_only_a_time_is_still_counted_by_time(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seeded(ws)
    retrain(ws, fit=_fit, loader="table", version="v1", promote=True)
    champ = _champion(ws)
    old = replace(champ, lineage={k: v for k, v in champ.lineage.items() if not k.startswith("labels_seq")}
                  | {"labels_as_of": "2050-01-01T00:00:00+00:00"})  # registered before labels_seq was kept
    _review_on_clock(ws, monkeypatch, BEHIND, ids[12:14])
    _review_on_clock(ws, monkeypatch, AHEAD, ids[14:15])
    trig = _new_labels(ws, old)
    assert trig.value == 1.0 and trig.info["since_source"] == "labels_as_of" and trig.info["since_seq"] is None


def test_a_chain_position_this_store_did_not_issue_is_not_used(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lineage naming an event whose hash is not this store's (another store's numbering): the time is used."""
    ids = _seeded(ws)
    retrain(ws, fit=_fit, loader="table", version="v1", promote=True)
    champ = _champion(ws)
    other = replace(champ, lineage={**champ.lineage, "labels_seq_hash": "e" * 64,
                                    "labels_as_of": "2050-01-01T00:00:00+00:00"})
    _review_on_clock(ws, monkeypatch, BEHIND, ids[12:14])
    _review_on_clock(ws, monkeypatch, AHEAD, ids[14:15])
    trig = _new_labels(ws, other)
    assert trig.value == 1.0 and trig.info["since_source"] == "labels_as_of"
    assert "not an event of this store" in trig.info["note"]
    assert _new_labels(ws, champ).value == 3.0
