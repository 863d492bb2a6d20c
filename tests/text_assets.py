"""A small labelled workspace a real text Grader can learn: grade A and C assets, one log entry each."""

from __future__ import annotations

import hashlib

from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

LOGS = {"A": "Routine inspection, no defects found, unit runs clean.",
        "C": "Corrosion on the flange and a slow oil leak at the pump seal."}
"""The log worded for each grade (an asset's entry adds its visit number, so no two entries are the same file)."""


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
