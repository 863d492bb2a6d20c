"""The web UI names the currency of an expected cost, on the asset page, the queue's column and the dashboard's
chart: the workspace's ``costs: currency:``, else "cost units" (they showed bare numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import create_app, create_token
from assetgrade.store.repository import add_asset
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS


@pytest.mark.parametrize(("costs", "unit"), [("costs:\n  currency: USD\n", "USD"), ("", "cost units")])
def test_the_pages_name_the_currency(tmp_path: Path, costs: str, unit: str) -> None:
    path = tmp_path / "ws"
    with Workspace.init(path) as ws, ws.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
        add_asset(s, "p-1", asset_type="pump")
        add_prediction(s, "p-1", model_version="m1", grade="B", distribution={"A": 0.2, "B": 0.5, "C": 0.3},
                       conformal_set=["B"], decision="review", expected_cost=42.25)
    cfg = path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + costs, encoding="utf-8")
    ws = Workspace.open(path)
    c = TestClient(create_app(ws, SMALL_LIMITS))
    with c:
        assert c.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303
        page, queue, dash = (c.get(f"/ui/{p}").text for p in ("assets/p-1", "queue", "dashboard"))
    ws.close()
    assert f"expected cost <strong>42.2</strong> {unit}" in page, page
    assert f'<th scope="col">Expected cost ({unit})</th>' in queue and "p-1" in queue
    assert f"Mean expected cost per prediction ({unit})" in dash
