"""Threads of one process writing to one SQLite workspace: every write lands and the audit chain holds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assetgrade.store.audit import verify_chain
from assetgrade.store.repository import add_asset, list_assets
from assetgrade.workspace import Workspace


def test_concurrent_threads_write_without_losing_or_breaking_the_chain(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    assert ws._write_lock is not None  # SQLite: writers in this process queue on a lock

    def write(worker: int) -> None:
        for k in range(15):
            with ws.session() as s:
                add_asset(s, f"w{worker}-{k}", asset_type="pump")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    with ws.session(readonly=True) as s:
        assert len(list_assets(s, limit=1000)) == 90
        report = verify_chain(s)
    assert report.ok and report.n_events >= 90


def _child_write(root: str, ready: str, n: int, prefix: str) -> None:
    ws = Workspace.open(root)
    Path(ready).touch()
    for k in range(n):
        with ws.session() as s:
            add_asset(s, f"{prefix}-{k}", asset_type="pump")
    ws.close()


def test_a_writer_in_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    import multiprocessing as mp
    import time

    ws = Workspace.init(tmp_path / "ws")
    ready = tmp_path / "ready"
    lock = ws._write_lock
    assert lock is not None and lock.path == tmp_path / "ws" / "assetgrade.db.writer-lock"
    ctx = mp.get_context("spawn")
    with lock:
        child = ctx.Process(target=_child_write, args=(str(ws.path), str(ready), 1, "other"))
        child.start()
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists()
        time.sleep(0.3)
        with ws.session(readonly=True) as s:
            assert list_assets(s) == []  # the other process is queued on the lock, not writing
        assert child.is_alive()
    child.join(60)
    assert child.exitcode == 0
    with ws.session(readonly=True) as s:
        assert [a.id for a in list_assets(s)] == ["other-0"]


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    import multiprocessing as mp

    ws = Workspace.init(tmp_path / "ws")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_child_write, args=(str(ws.path), str(tmp_path / f"r{i}"), 10, f"p{i}"))
             for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    with ws.session(readonly=True) as s:
        assert len(list_assets(s, limit=1000)) == 30
        assert verify_chain(s).ok


def test_a_writer_lock_that_cannot_be_created_is_a_store_error_naming_it(tmp_path: Path) -> None:
    # a read-only workspace folder (or mount): the lock file cannot be created; this used to escape every write
    # as a bare OSError. Here its folder is a regular file, which fails the same way for any user, root included.
    from assetgrade.errors import StoreError
    from assetgrade.store.writelock import WriterLock

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    lock = WriterLock(blocker / "assetgrade.db.writer-lock")
    with pytest.raises(StoreError, match=r"writer lock .*not-a-folder"), lock:
        pass
    assert not lock.held
    with pytest.raises(StoreError):  # and again: nothing half-opened stays behind
        lock.__enter__()
