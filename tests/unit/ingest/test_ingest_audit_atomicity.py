"""A failure inside a row group's transaction or inside a blob write leaves the store as it was before that
group (no orphan rows, no blob under its final name with other content, an intact audit chain), and running
the same ingest again finishes the job and then changes nothing."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

import assetgrade.ingest.commit as commit
from assetgrade.errors import StoreError
from assetgrade.ingest import Ingestor, IngestReport, manifest_items
from assetgrade.store.blobs import sha256_bytes
from assetgrade.store.schema import IngestBatch
from assetgrade.workspace import Workspace

Counts = Callable[[Workspace], dict[str, int]]


def _images(folder: Path, n: int) -> tuple[Path, list[bytes]]:
    blobs = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (20, 20), (10 * i, 3, 200)).save(buf, "PNG")
        (folder / f"i{i}.png").write_bytes(buf.getvalue())
        blobs.append(buf.getvalue())
    m = folder / "m.csv"
    m.write_text("asset_id,kind,path,grade,defect\n" + "".join(f"a{i},image,i{i}.png,B,crack\n" for i in range(n)))
    return m, blobs


def _run(ws: Workspace, m: Path) -> IngestReport:
    return Ingestor(ws, kind="manifest", source="m", group_size=2).run(manifest_items(m))


def _statuses(ws: Workspace) -> list[str]:
    with ws.session(readonly=True) as s:
        return list(s.scalars(select(IngestBatch.status).order_by(IngestBatch.started_at)))


def test_a_failure_inside_a_groups_transaction_rolls_the_whole_group_back(
        ws: Workspace, tmp_path: Path, counts: Counts, consistent: Callable[[Workspace], bool],
        monkeypatch: pytest.MonkeyPatch) -> None:
    m, _ = _images(tmp_path, 5)
    real = commit.close_label_requests_labelled  # runs after the group's rows are flushed, before its commit
    calls = {"n": 0}

    def fails_in_the_second_group(*args: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        real(*args, **kw)

    monkeypatch.setattr(commit, "close_label_requests_labelled", fails_in_the_second_group)
    with pytest.raises(RuntimeError, match="went away"):
        _run(ws, m)
    after = counts(ws)
    assert after == {"assets": 2, "evidence": 2, "provenance": 2, "labels": 4}  # group 1 whole, group 2 none
    assert consistent(ws) and _statuses(ws) == ["failed"]
    monkeypatch.setattr(commit, "close_label_requests_labelled", real)
    rep = _run(ws, m)
    assert rep.ok and rep.added == {"assets": 3, "evidence": 3, "labels": 6} and rep.skipped_existing == 2
    before = counts(ws)
    again = _run(ws, m)
    assert again.added == {"assets": 0, "evidence": 0, "labels": 0} and again.skipped_existing == 5
    assert counts(ws) == before and consistent(ws)


@pytest.mark.parametrize("where", ["fsync", "rename"])
def test_a_blob_write_that_fails_leaves_no_file_under_its_name(
        ws: Workspace, tmp_path: Path, counts: Counts, consistent: Callable[[Workspace], bool],
        monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    m, blobs = _images(tmp_path, 3)
    third = ws.blobs.path_for(sha256_bytes(blobs[2]))
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd: int) -> None:  # the data of the third image is in the temp file, half on disk
        held = Path(f"/proc/self/fd/{fd}").readlink()
        if held.parent.name == "tmp" and held.read_bytes() == blobs[2]:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    def replace(self: Path, target: Any) -> Path:
        if str(target) == third:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(self, target)

    if where == "fsync":
        if not Path("/proc/self/fd").is_dir():
            pytest.skip("needs /proc to tell the temp file's descriptor")
        monkeypatch.setattr(os, "fsync", fsync)
    else:
        monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(StoreError, match="cannot write to the blob store"):
        _run(ws, m)
    assert not Path(third).exists()
    assert not list((Path(ws.blobs.root) / "tmp").glob("*"))  # the temp file is gone too
    assert counts(ws)["evidence"] == 2 and consistent(ws)  # the first group stays whole
    monkeypatch.undo()
    rep = _run(ws, m)
    assert rep.ok and rep.added["evidence"] == 1
    assert ws.blobs.get_bytes(sha256_bytes(blobs[2]), verify=True) == blobs[2]
