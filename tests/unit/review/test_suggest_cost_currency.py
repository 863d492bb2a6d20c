"""``assetgrade review suggest``'s table names the currency of its expected cost column, as ``grade``'s does.

298b66c named it in ``grade``'s table ("exp. cost (EUR)") and bfa3f94 in ``suggest --json``; the suggest table
still headed bare amounts "expected cost". It now reads "expected cost (CHF)", or "(cost units)" when the costs
the grader was trained with name no currency.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.text_assets import LOGS, seed_text_assets
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence
from assetgrade.workspace import Workspace


def _trained(path: Path, costs: str) -> Path:
    """A text grader trained by ``assetgrade train`` with ``costs`` appended to the config, four assets unlabelled."""
    with Workspace.init(path) as ws:
        seed_text_assets(ws)
    cfg = path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + costs, encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["train", "-w", str(path), "--extractors", "text", "--folds", "2"])
    assert res.exit_code == 0, res.output
    with Workspace.open(path) as ws, ws.session() as s:
        for i in range(4):
            aid, text = f"new-{i}", f"{LOGS['AC'[i % 2]]} Later visit {i}."
            add_asset(s, aid, asset_type="pump")
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
    return path


@pytest.mark.parametrize(("costs", "unit"), [("costs:\n  currency: CHF\n", "CHF"), ("", "cost units")])
def test_the_suggest_table_names_the_currency_of_its_expected_costs(tmp_path: Path, costs: str, unit: str) -> None:
    path = _trained(tmp_path / "ws", costs)
    res = CliRunner().invoke(build_app(), ["review", "suggest", "-w", str(path), "--k", "3"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert f"expected cost ({unit})" in res.output, res.output
