"""The REST API names the currency of every expected cost it answers: ``currency`` beside ``expected_cost``.

A stored prediction, a queue entry and a label round's suggestion carried ``expected_cost`` without a unit.
``currency`` is the workspace config's ``costs: currency:``, the source the web UI names (34ccac5), null
without one (never "cost units"); a prediction's ``payload.currency`` stays that of the grader's cost settings.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import create_app
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS, RestEnv
from .trained_workspace import unlabelled_ids


def _served(template: tuple[Path, dict[str, str]], path: Path, costs: str) -> Iterator[RestEnv]:
    src, tokens = template
    shutil.copytree(src, path)
    cfg = path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + costs, encoding="utf-8")
    ws = Workspace.open(path)
    env = RestEnv(ws, [], tokens, TestClient(create_app(ws, SMALL_LIMITS)))
    with env.client:
        yield env
    ws.close()


@pytest.mark.parametrize(("costs", "currency"), [("costs:\n  currency: USD\n", "USD"), ("", None),
                                                 ("costs:\n  currency: usd\n", None)],
                         ids=["USD", "unset", "unreadable"])
def test_predictions_queue_and_rounds_carry_the_workspace_currency(
        trained_template: tuple[Path, dict[str, str]], tmp_path: Path, costs: str, currency: str | None) -> None:
    for env in _served(trained_template, tmp_path / "ws", costs):
        aid = unlabelled_ids()[0]
        admin = env.auth("admin")
        graded = env.client.post(f"/api/v1/assets/{aid}/grade", headers=admin)
        assert graded.status_code == 201, graded.text
        body = graded.json()
        assert body["currency"] == currency and body["expected_cost"] is not None
        # the grader was trained before the config named a currency: its payload says so
        assert "currency" in body["payload"] and body["payload"]["currency"] is None
        latest = env.client.get(f"/api/v1/assets/{aid}/grade", headers=admin).json()
        history = env.client.get(f"/api/v1/assets/{aid}/grades", headers=admin).json()
        assert latest["currency"] == currency and [p["currency"] for p in history] == [currency]
        queue = env.client.get("/api/v1/queue", headers=admin).json()["items"]
        assert queue and all(it["currency"] == currency for it in queue), queue
        rnd = env.client.post("/api/v1/review/requests", headers=admin, json={"k": 2, "strategy": "least_confidence"})
        assert rnd.status_code == 201, rnd.text
        sug = rnd.json()["suggestions"]
        assert sug and all(s["currency"] == currency and "expected_cost" in s for s in sug), sug


def test_the_openapi_schema_describes_each_currency(demo_env: RestEnv) -> None:
    schemas = demo_env.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("PredictionOut", "QueueItem", "LabelSuggestionOut"):
        props = schemas[name]["properties"]
        assert "expected_cost" in props and "currency" in props, name
        doc = props["currency"]["description"]
        assert "costs: currency:" in doc and "null" in doc and "cost units" in doc, doc
        assert "currency" not in schemas[name].get("required", []), name  # additive: old clients unaffected
