"""``Grader.info()`` names the audit chain position of the labels it was trained on (``labels_seq``).

``bundle.json`` recorded it beside ``info()`` only; ``info()`` itself left it out, so a caller reading
the model's description could not see which reviews it had learned from. Fitted on a small workspace
(a real text Grader), it is the chain's last event before fit read the labels; given records, None;
saving and loading keep it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.text_assets import seed_text_assets

from assetgrade.grader import Grader
from assetgrade.store.audit import chain_head
from assetgrade.store.loading import load_records
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "ws")
    seed_text_assets(w)
    return w


def test_info_names_the_labels_position_and_save_load_keeps_it(ws: Workspace, tmp_path: Path) -> None:
    with ws.session(readonly=True) as s:
        head = chain_head(s)
    assert head is not None and head[0] > 0
    g = Grader(extractors=("text",), folds=2, seed=0).fit(ws)
    assert g.info()["labels_seq"] == head[0] == g.labels_seq_
    folder = g.save(tmp_path / "grader")
    assert json.loads((folder / "bundle.json").read_text())["labels_seq"] == head[0]
    loaded = Grader.load(folder)
    assert loaded.info()["labels_seq"] == head[0]


def test_info_labels_seq_is_none_when_not_known(ws: Workspace) -> None:
    g = Grader(extractors=("text",), folds=2, seed=0).fit(load_records(ws))
    assert "labels_seq" in g.info() and g.info()["labels_seq"] is None  # records say nothing about the store
    del g.labels_seq_  # a grader pickled before fit kept the position
    assert g.info()["labels_seq"] is None
