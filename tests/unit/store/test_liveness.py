"""The liveness lock of background workers, and label-round jobs whose runner died, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from assetgrade.errors import ValidationError
from assetgrade.review.rounds import DONE, QUEUED, ROUND_ENTITY, STARTED, RoundRunner, read_round_job
from assetgrade.store.audit import append_event, list_events
from assetgrade.store.liveness import LivenessLock, lock_is_free
from assetgrade.workspace import Workspace


def _is_pg(ws: Workspace) -> bool:
    return ws.engine.dialect.name == "postgresql"


def _status(ws: Workspace, job_id: str) -> str:
    with ws.session() as s:
        job = read_round_job(s, job_id)
    assert job is not None
    return job.status


def _lock_free(ws: Workspace, key: int) -> bool:
    with ws.engine.connect() as conn:
        return lock_is_free(conn, key)


def test_the_lock_reads_held_from_other_connections_until_released(ws: Workspace) -> None:
    lock = LivenessLock.acquire(ws.engine)
    if not _is_pg(ws):
        assert lock is None  # SQLite has no advisory locks: callers fall back to host and process id
        return
    assert lock is not None and lock.held and 0 < lock.key < 2**63
    assert not _lock_free(ws, lock.key)
    assert not _lock_free(ws, lock.key)  # asking did not take it away from its holder
    lock.release()
    assert not lock.held and _lock_free(ws, lock.key)
    lock.release()  # a second release does nothing
    other = LivenessLock.acquire(ws.engine)
    assert other is not None and other.key != lock.key
    other.release()


def test_a_job_whose_runner_died_on_another_host_reads_lost_once_its_lock_is_free(ws: Workspace) -> None:
    # a key of this run alone: advisory locks are database-wide, so a fixed key was shared with any other
    # suite running this test on the same database at once, whose holder kept the job 'running'
    key = secrets.randbelow(2**62) + 1
    payload: dict[str, Any] = {"settings": {"k": 3}, "host": "another-host", "pid": 1}
    holder = None
    if _is_pg(ws):  # the other host's runner: its own connection, holding the lock it recorded
        payload["lock"] = key
        holder = sa.create_engine(ws.engine.url, poolclass=NullPool).connect()
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        holder.commit()
    with ws.session() as s:
        append_event(s, actor="admin", action=QUEUED, entity=ROUND_ENTITY, entity_id="round_far", payload=payload)
    assert _status(ws, "round_far") == "queued"
    with ws.session() as s:
        append_event(s, actor="admin", action=STARTED, entity=ROUND_ENTITY, entity_id="round_far")
    assert _status(ws, "round_far") == "running"
    if holder is None:
        return  # SQLite: another host's process cannot be checked from here, so it stays running
    holder.close()  # the process dies: its connection ends without unlocking
    assert _status(ws, "round_far") == "lost"
    with ws.session() as s:  # an end recorded after all wins over "lost"
        append_event(s, actor="admin", action=DONE, entity=ROUND_ENTITY, entity_id="round_far", payload={})
    assert _status(ws, "round_far") == "done"


def test_a_closed_runner_gives_its_lock_back_once_its_running_job_ends(ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.review.suggest as suggest

    reached, release = threading.Event(), threading.Event()

    def held_round(*_args: Any, **_kw: Any) -> Any:  # stands in for a long round, then fails
        reached.set()
        release.wait(30)
        raise ValidationError("the test stopped this round", where="test")

    monkeypatch.setattr(suggest, "label_round", held_round)
    ws.grader_dir.mkdir(parents=True)
    (ws.grader_dir / "bundle.json").write_text("{}", encoding="utf-8")  # submit only checks that one exists
    runner = RoundRunner(ws)
    first = runner.submit(k=3, requested_by="admin")
    assert reached.wait(30)
    second = runner.submit(k=3, requested_by="admin")
    with ws.session() as s:
        queued = [e.payload for e in list_events(s, entity=ROUND_ENTITY, limit=10) if e.action == QUEUED]
    keys = {p.get("lock") for p in queued}
    assert _status(ws, first) == "running" and _status(ws, second) == "queued"
    runner.close()
    with pytest.raises(ValidationError, match="closed"):
        runner.submit(k=3, requested_by="admin")
    assert _status(ws, second) == "queued"  # the runner lives on while its running job does
    if not _is_pg(ws):
        assert keys == {None}
        release.set()
        runner.wait(first, timeout=30)
        assert _status(ws, first) == "failed" and _status(ws, second) == "queued"  # this process is alive
        return
    key = next(iter(keys))
    assert len(keys) == 1 and isinstance(key, int)  # one lock per runner, recorded with every job
    assert not _lock_free(ws, key)
    release.set()
    runner.wait(first, timeout=30)
    deadline = time.monotonic() + 30  # the lock is given back by the future's callback, just after it ends
    while not _lock_free(ws, key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _status(ws, first) == "failed" and _status(ws, second) == "lost"



def test_a_close_while_a_job_is_being_queued_does_not_break_the_submit(ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # a close between a submit's queued event and its hand-over to the pool shut the pool first: the submit
    # then failed with the pool's RuntimeError (a 500 over REST) and left a queued job no runner held
    import assetgrade.review.rounds as rounds
    import assetgrade.review.suggest as suggest

    monkeypatch.setattr(suggest, "label_round", lambda *_a, **_k: None)
    ws.grader_dir.mkdir(parents=True)
    (ws.grader_dir / "bundle.json").write_text("{}", encoding="utf-8")
    runner = RoundRunner(ws)
    real = rounds.append_event
    closer: list[threading.Thread] = []

    def close_meanwhile(s: Any, **kw: Any) -> Any:
        if kw.get("action") == QUEUED and not closer:
            closer.append(threading.Thread(target=runner.close))
            closer[0].start()
            closer[0].join(0.5)  # done by now, unless it waits for this submit to finish
        return real(s, **kw)

    monkeypatch.setattr(rounds, "append_event", close_meanwhile)
    job = runner.submit(k=3, requested_by="admin")  # RuntimeError: cannot schedule new futures after shutdown
    closer[0].join(30)
    assert not closer[0].is_alive()
    assert _status(ws, job) in ("queued", "running", "done", "lost")
    with pytest.raises(ValidationError, match="closed"):
        runner.submit(k=3, requested_by="admin")
