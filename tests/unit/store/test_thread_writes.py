"""Threads of one process writing to one SQLite workspace: every write lands and the audit chain holds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
