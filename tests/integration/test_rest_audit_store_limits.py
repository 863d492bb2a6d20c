"""Values a store cannot hold, on SQLite and PostgreSQL: a NUL character (U+0000), which PostgreSQL text cannot
hold (it was a 500 there, and a telemetry payload holding one broke the summary), and whole numbers beyond the
stores' 64-bit columns (event numbers, record ids, asset versions). Each is a 422 naming the field, on either
store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from tests.pg import PG_ENV, empty_pg, fresh_pg_workspace, pg_url

from assetgrade.rest import create_app, create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.store.auth_schema import ApiToken, TelemetryRecord
from assetgrade.store.schema import Asset, Review
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS, RestEnv

_PG = pg_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RestEnv]:
    if request.param == "postgresql":
        if _PG is None:
            pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
        ws = fresh_pg_workspace(tmp_path / "ws", _PG)
    else:
        ws = Workspace.init(tmp_path / "ws")
    assets = seed_demo(ws, n_assets=2, seed=3)
    tokens = {}
    with ws.session() as s:
        for name, role in (("admin", "admin"), ("alice", "reviewer"), ("station-1", "station")):
            tokens[name], _ = create_token(s, name=name, role=role, actor="test")
    client = TestClient(create_app(ws, SMALL_LIMITS), raise_server_exceptions=False)
    with client:
        yield RestEnv(ws, assets, tokens, client)
    ws.close()
    if request.param == "postgresql" and _PG is not None:
        empty_pg(_PG)


def _bodies(version: int) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(token, path, what, body, where the 422 points)."""
    review = "/api/v1/assets/demo-001/reviews"
    return [
        ("alice", review, "note", {"expected_version": version, "grade": "A", "note": "rust\x00"}, "body.note"),
        ("alice", review, "severity", {"expected_version": version, "defects": [{"id": "corrosion",
                                                                                 "severity": "\x00"}]},
         "body.defects.0.severity"),
        ("admin", "/api/v1/assets", "make", {"id": "n-1", "make": "KSB\x00"}, "body.make"),
        ("admin", "/api/v1/assets", "asset_type", {"id": "n-1", "asset_type": "pump\x00"}, "body.asset_type"),
        ("admin", "/api/v1/assets", "attribute", {"id": "n-1", "attributes": {"site": ["a", "b\x00"]}},
         "body.attributes"),
        ("admin", "/api/v1/assets", "attribute key", {"id": "n-1", "attributes": {"si\x00te": 1}}, "body.attributes"),
        ("station-1", "/api/v1/telemetry", "payload", {"items": [{"kind": "prediction",
                                                                  "payload": {"grade": "B\x00"}}]},
         "body.items.0.payload"),
        ("station-1", "/api/v1/telemetry", "batch_id", {"batch_id": "b\x00", "items": [{"kind": "features",
                                                                                        "payload": {}}]},
         "body.batch_id"),
        ("admin", "/api/v1/telemetry", "station", {"station": "s\x00", "items": [{"kind": "features",
                                                                                  "payload": {}}]}, "body.station"),
        ("admin", "/api/v1/tokens", "name", {"name": "carol\x00", "role": "reviewer"}, "body.name"),
    ]


def test_a_nul_in_any_text_of_a_body_is_422_naming_the_field_and_nothing_is_stored(env: RestEnv) -> None:
    version = env.client.get("/api/v1/assets/demo-001", headers=env.auth("alice")).json()["version"]
    for who, path, what, body, where in _bodies(version):
        r = env.client.post(path, headers=env.auth(who), json=body)
        assert r.status_code == 422, (what, r.status_code, r.text)
        assert r.json()["where"] == where and "U+0000" in r.json()["reason"], (what, r.json())
    with env.ws.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 0
        assert s.get(Asset, "n-1") is None
        assert s.scalar(select(func.count()).select_from(TelemetryRecord)) == 0
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 3
    r = env.client.get("/api/v1/telemetry/summary", headers=env.auth("admin"))
    assert r.status_code == 200 and r.json() == []


NUL_PATHS = [
    ("get", "/api/v1/assets/a%00b"), ("get", "/api/v1/assets?q=%00"), ("get", "/api/v1/assets?asset_type=%00"),
    ("get", "/api/v1/assets?grade=%00&decision=%00"), ("get", "/api/v1/evidence/a%00b"),
    ("get", "/api/v1/assets/a%00b/reviews"), ("get", "/api/v1/audit/events?actor=%00"),
    ("get", "/api/v1/telemetry?station=%00"), ("delete", "/api/v1/tokens/a%00b"),
    ("delete", "/api/v1/review/requests/a%00b"), ("post", "/api/v1/assets/a%00b/grade"),
]


def test_a_nul_in_a_path_or_query_is_never_a_500(env: RestEnv) -> None:
    # every request on one service (a workspace and its app per request cost seconds on PostgreSQL); none of them
    # stores anything, and each one that fails is listed
    wrong = []
    for method, path in NUL_PATHS:
        r = getattr(env.client, method)(path, headers=env.auth("admin"))
        if r.status_code not in (200, 404, 422) or (r.status_code == 422 and "U+0000" not in r.json()["detail"]):
            wrong.append((method, path, r.status_code, r.text))
    assert wrong == []


@pytest.mark.parametrize(("path", "where"), [
    ("/api/v1/audit/events?after_seq=", "query.after_seq"),
    ("/api/v1/telemetry?after_id=", "query.after_id"),
])
def test_a_number_beyond_the_stores_64_bit_columns_is_422_naming_it(env: RestEnv, path: str, where: str) -> None:
    # event numbers and record ids are bigint on PostgreSQL (migration 0007): 2^31 was a 500 there, then a 422
    for fits in (2**31, 2**63 - 1):
        ok = env.client.get(f"{path}{fits}", headers=env.auth("admin"))
        assert ok.status_code == 200, (fits, ok.text)
    r = env.client.get(f"{path}{2**63}", headers=env.auth("admin"))
    assert r.status_code == 422 and r.json()["where"] == where, r.text


def test_a_review_against_a_version_beyond_2_to_the_31_goes_in_and_beyond_2_to_the_63_is_422(env: RestEnv) -> None:
    review = "/api/v1/assets/demo-001/reviews"
    r = env.client.post(review, headers=env.auth("alice"), json={"expected_version": 2**63, "grade": "A"})
    assert r.status_code == 422 and r.json()["where"] == "body.expected_version", r.text
    r = env.client.post(review, headers=env.auth("alice"), json={"expected_version": 2**31, "grade": "A"})
    assert r.status_code == 422 and "ahead of asset" in r.json()["reason"], r.text  # the asset is at a low version
    with env.ws.session() as s:
        s.execute(update(Asset).where(Asset.id == "demo-001").values(version=2**31 + 5))
    r = env.client.post(review, headers=env.auth("alice"), json={"expected_version": 2**31 + 5, "grade": "A"})
    assert r.status_code == 201 and r.json()["asset_version"] == 2**31 + 6, r.text
    assert env.client.get("/api/v1/assets/demo-001", headers=env.auth("alice")).json()["version"] == 2**31 + 6
