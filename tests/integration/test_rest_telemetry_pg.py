"""Telemetry retries on PostgreSQL: a batch id posted twice at once is stored once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.pg import pg_url, start_behind

from assetgrade.workspace import Workspace

_PG = pg_url(default=None)  # only when ASSETGRADE_TEST_PG_URL is set


def test_a_batch_retried_while_the_first_post_is_open_is_stored_once(pg_ws: Workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a station retries a batch whose first post has not committed yet (a slow response): both looked for
    # the batch id, found none, and both stored it (SQLite's single writer hid this)
    from assetgrade.rest import writes
    from assetgrade.rest.auth import Principal
    from assetgrade.rest.schemas import TelemetryIn
    from assetgrade.store.auth_schema import TelemetryRecord

    assert _PG is not None
    who = Principal("station-1", "station")
    body = TelemetryIn.model_validate({"batch_id": "b-7", "items": [{"kind": "features", "payload": {"x": 1}},
                                                                     {"kind": "features", "payload": {"x": 2}}]})
    real = writes.append_event
    second: dict[str, Any] = {}
    worker: list[threading.Thread] = []

    def retry() -> None:
        second["out"] = writes.post_telemetry(pg_ws, who, body)

    def in_first_transaction(s: Any, **kw: Any) -> Any:
        if not worker:  # the first post's rows are written, not committed: the retry arrives now
            worker.append(start_behind(_PG, s, retry, timeout_s=10)[0])
        return real(s, **kw)

    monkeypatch.setattr(writes, "append_event", in_first_transaction)
    first = writes.post_telemetry(pg_ws, who, body)
    worker[0].join(60)
    assert first.accepted == 2 and second["out"].accepted == 0
    assert (second["out"].first_id, second["out"].last_id) == (first.first_id, first.last_id)
    with pg_ws.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(TelemetryRecord)) == 2
