"""Telemetry rows holding a NUL character (U+0000), stored before the API refused it (5add322): the per-station
summary still answers, on SQLite and PostgreSQL, and counts their grade as posted (PostgreSQL's JSON operators
refuse to turn ``\\u0000`` into text, so one such row made every summary a 500 there)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assetgrade.rest import create_app, create_token
from assetgrade.store.auth_schema import TelemetryRecord
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS


@pytest.fixture
def served(store_ws: Workspace) -> Iterator[tuple[Workspace, TestClient, dict[str, str]]]:
    """The service on a fresh workspace, on SQLite and PostgreSQL (``store_ws``), and an admin's header."""
    with store_ws.session() as s:
        token, _ = create_token(s, name="admin", role="admin", actor="test")
    client = TestClient(create_app(store_ws, SMALL_LIMITS), raise_server_exceptions=False)
    with client:
        yield store_ws, client, {"Authorization": f"Bearer {token}"}


def _store(ws: Workspace, station: str, kind: str, payload: dict[str, object]) -> None:
    """Write a row as the service did before 5add322: straight into the store, bypassing the API's checks."""
    with ws.session() as s:
        s.add(TelemetryRecord(station=station, kind=kind, payload=payload))


def test_old_rows_holding_a_nul_do_not_break_the_summary(
        served: tuple[Workspace, TestClient, dict[str, str]]) -> None:
    ws, client, admin = served
    for grade in ("A", "A", "B"):
        _store(ws, "s-1", "prediction", {"grade": grade, "confidence": 0.8})
    _store(ws, "s-1", "prediction", {"grade": "B\x00"})  # the row that broke the summary
    _store(ws, "s-1", "prediction", {"grade": "A", "note": "x\x00y"})  # a NUL outside the grade
    _store(ws, "s-1", "prediction", {"gr\x00ade": "C"})  # in a key: no grade at all
    _store(ws, "s-2", "features", {"mean\x00": 0.4})
    _store(ws, "s-2", "prediction", {"grade": "\\u0000"})  # a backslash, 'u0000': no NUL, taken as written
    r = client.get("/api/v1/telemetry/summary", headers=admin)
    assert r.status_code == 200, r.text
    got = {row["station"]: (row["n_predictions"], row["n_features"], row["grade_mix"]) for row in r.json()}
    assert got == {"s-1": (6, 0, {"A": 3, "B": 1, "B\x00": 1}), "s-2": (1, 1, {"\\u0000": 1})}


def test_the_records_holding_a_nul_still_list(served: tuple[Workspace, TestClient, dict[str, str]]) -> None:
    ws, client, admin = served
    _store(ws, "s-1", "prediction", {"grade": "B\x00"})
    r = client.get("/api/v1/telemetry?station=s-1", headers=admin)
    assert r.status_code == 200 and r.json()[0]["payload"] == {"grade": "B\x00"}
