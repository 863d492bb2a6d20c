"""A small labelled workspace a real text Grader can learn: grade A and C assets, one log entry each."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

LOGS = {"A": "Routine inspection, no defects found, unit runs clean.",
        "C": "Corrosion on the flange and a slow oil leak at the pump seal."}
"""The log worded for each grade (an asset's entry adds its visit number, so no two entries are the same file)."""
CHF = "costs:\n  currency: CHF\n"
"""A ``costs:`` section naming a currency, to append to a workspace config."""


def seed_text_assets(ws: Workspace, n: int = 16) -> list[str]:
    """``n`` pump assets ``asset-00``... alternating grades A and C, each with a grade label and one log entry."""
    ids = []
    with ws.session() as s:
        for i in range(n):
            aid, g = f"asset-{i:02d}", "AC"[i % 2]
            add_asset(s, aid, asset_type="pump")
            text = f"{LOGS[g]} Visit {i}."
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
            add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")
            ids.append(aid)
    return ids


def train_text_workspace(path: Path, costs: str = CHF, unlabelled: int = 0) -> Path:
    """A workspace at ``path`` seeded by :func:`seed_text_assets`, ``costs`` appended to its config, a text grader
    trained by ``assetgrade train`` (2 folds), and ``unlabelled`` more assets ``new-0``... with a log entry each."""
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    with Workspace.init(path) as ws:
        seed_text_assets(ws)
    cfg = path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + costs, encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["train", "-w", str(path), "--extractors", "text", "--folds", "2"])
    assert res.exit_code == 0, res.output
    with Workspace.open(path) as ws, ws.session() as s:
        for i in range(unlabelled):
            aid, text = f"new-{i}", f"{LOGS['AC'[i % 2]]} Later visit {i}."
            add_asset(s, aid, asset_type="pump")
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
    return path
