"""Batch output files: the data is on disk before the file takes its final name, and the name after that."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from assetgrade.batch.outputs import write_audit
from assetgrade.batch.shards import ShardResult, ShardTask


def test_an_audit_file_is_flushed_to_disk_before_its_rename_and_the_rename_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the audit rows were renamed into place without an fsync, and no output's folder was synced: after a power
    # loss the shard's marker (committed by the database, which syncs) could stand for an empty or missing file
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd: int) -> None:
        calls.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(self: Path, target: Path) -> Path:
        calls.append("rename")
        return real_replace(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    task = ShardTask(kind="audit", index=0, key="audit:" + "ab" * 20, asset_ids=("a",), workspace=str(tmp_path),
                     store_url="sqlite://", model_path=None)
    res = ShardResult(task=task, results=[{"asset_id": "a", "evidence": 1, "problems": []}])
    path, n = write_audit(SimpleNamespace(cache_dir=tmp_path / "cache"), res)
    assert n == 1 and path.read_text().startswith("[{")
    assert calls == ["fsync file", "rename", "fsync folder"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .part left
