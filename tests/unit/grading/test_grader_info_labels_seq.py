"""``Grader.info()`` names the audit chain position of the labels it was trained on (``labels_seq``).

``bundle.json`` recorded it beside ``info()`` only; ``info()`` itself left it out, so a caller reading
the model's description could not see which reviews it had learned from. Fitted on a small workspace
(a real text Grader), it is the chain's last event before fit read the labels; given records, None;
saving and loading keep it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assetgrade.grader import Grader
from assetgrade.store.audit import chain_head
from assetgrade.store.loading import load_records
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

LOGS = {"A": "Routine inspection, no defects found, unit runs clean.",
        "C": "Corrosion on the flange and a slow oil leak at the pump seal."}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "ws")
    with w.session() as s:
        for i in range(16):
            aid, g = f"asset-{i:02d}", "AC"[i % 2]
            add_asset(s, aid, asset_type="pump")
            text = f"{LOGS[g]} Visit {i}."
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
            add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")
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
