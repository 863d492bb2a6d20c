"""The temporary database of an ingest's evidence ids (ingest/claims.py) when it cannot be made or written.

A ``TMPDIR`` that cannot take the file (a regular file, a folder that does not exist) stops the run before the
batch is recorded: a StoreError (exit 6) naming the folder and the input, the store untouched. Python and SQLite
used to fall back to /tmp or /var/tmp without a word. A write that fails mid-run (here a file-size limit,
``RLIMIT_FSIZE``, in a child process: the write fails as on a full disk) stops the run before the row group that
met it is written, naming the file and the input; the groups before it stay whole. The file is removed from its
folder as soon as it is made, so a run leaves nothing there and nothing can remove it mid-run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.workspace_template import new_workspace
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import StoreError
from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.ingest.claims import Claim, Claims
from assetgrade.store.audit import verify_chain
from assetgrade.store.schema import AuditEvent, Evidence, IngestBatch
from assetgrade.workspace import Workspace

HEAD = "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"


def _csv(path: Path, rows: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(f"2005-01-{i % 28 + 1:02d},A{i % 7},JOB {i},PM01,{i}.5\n" for i in range(rows)),
                    encoding="utf-8")
    return path


def _counts(ws: Workspace) -> dict[str, int]:
    with ws.session(readonly=True) as s:
        return {t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0)
                for t in (Evidence, IngestBatch, AuditEvent)}


@pytest.fixture
def ws(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


@pytest.mark.parametrize("bad", ["a-file", "no/such/folder"])
def test_a_tmpdir_that_cannot_take_the_file_stops_the_run_before_anything_is_written(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    tmpdir = tmp_path / bad
    if bad == "a-file":
        tmpdir.write_text("not a folder")  # chmod would not stop root; a file stops everyone
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    wo = _csv(tmp_path / "in" / "wo.csv", 5)
    before = _counts(ws)
    with pytest.raises(StoreError) as err:
        Ingestor(ws, kind="work-orders", source=str(wo)).run(work_order_items(wo, WorkOrderColumns()))
    msg = str(err.value)
    assert msg.startswith(f"{wo}: cannot keep the evidence ids of its rows in the temporary folder {tmpdir} ("), msg
    assert "set TMPDIR to a folder with room" in msg
    assert _counts(ws) == before  # no batch, no audit event, no row


def test_the_cli_says_it_with_exit_6(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmpdir = tmp_path / "a-file"
    tmpdir.write_text("x")
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    wo = _csv(tmp_path / "wo.csv", 3)
    res = CliRunner().invoke(build_app(), ["ingest", "work-orders", str(wo), "-w", str(ws.path)])
    assert isinstance(res.exception, StoreError) and exit_code_for(res.exception) == 6, res.output
    assert str(wo) in str(res.exception) and str(tmpdir) in str(res.exception)
    assert _counts(ws)["evidence"] == 0


def test_the_file_is_not_left_in_the_folder(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmpdir = tmp_path / "t"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    wo = _csv(tmp_path / "wo.csv", 30)
    seen: list[list[str]] = []
    ing = Ingestor(ws, kind="work-orders", source=str(wo), group_size=10,
                   on_progress=lambda n: seen.append(sorted(p.name for p in tmpdir.iterdir())))
    rep = ing.run(work_order_items(wo, WorkOrderColumns()))
    assert rep.ok and rep.added["evidence"] == 30 and seen == [[], [], []]  # open all along, never in the folder
    assert not any(tmpdir.iterdir())


_CHILD = """
import json, resource, signal, sys
from pathlib import Path
from assetgrade.errors import StoreError
from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.workspace import Workspace

root, wo, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
ws = Workspace.open(root)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
ing = Ingestor(ws, kind="work-orders", source=str(wo), group_size=100)
try:
    ing.run(work_order_items(wo, WorkOrderColumns()))
    print(json.dumps({"error": None}))
except StoreError as exc:
    print(json.dumps({"error": str(exc), "batch": ing.report.batch_id, "status": ing.report.status,
                      "added": ing.report.added["evidence"]}))
"""


def test_a_write_that_fails_mid_run_stops_it_between_whole_row_groups(ws: Workspace, tmp_path: Path) -> None:
    # Each row's place (``<path>:row N``) goes into the temporary database, so a long input path makes it grow
    # about 3 KB a row, faster than the workspace's files: the 1 MiB limit stops it, not the store, mid-run.
    deep = tmp_path.joinpath(*["d" * 200] * 15)
    wo = _csv(deep / "wo.csv", 1000)
    tmpdir = tmp_path / "t"
    tmpdir.mkdir()
    root = ws.path
    ws.close()
    run = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(wo), str(2**20)], capture_output=True,
                         text=True, env={**os.environ, "TMPDIR": str(tmpdir)}, timeout=300)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    msg = got["error"]
    assert msg is not None and msg.startswith(f"{wo}: cannot keep the evidence ids of its rows in the temporary"
                                              f" database {tmpdir}/assetgrade-claims-"), msg
    assert got["status"] == "failed" and 0 < got["added"] < 1000 and got["added"] % 100 == 0, got
    assert not any(tmpdir.iterdir())
    again = Workspace.open(root)
    try:
        with again.session(readonly=True) as s:
            assert s.scalar(select(func.count()).select_from(Evidence)) == got["added"]  # whole groups only
            assert s.get(IngestBatch, got["batch"]).status == "failed"  # type: ignore[union-attr]
            assert verify_chain(s).ok
    finally:
        again.close()


def test_claims_alone_name_their_file_when_a_write_fails(tmp_path: Path) -> None:
    code = """
import json, resource, signal, sys
from assetgrade.errors import StoreError
from assetgrade.ingest.claims import Claim, Claims
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
claims = Claims(source="m.csv")
claims.open()
path = str(claims.path)
try:
    for g in range(1000):
        claims.first([Claim(f"ev_{g}_{i}", "a" * 64, "p", f"m.csv:row {i}") for i in range(200)])
    print(json.dumps({"path": path, "error": None}))
except StoreError as exc:
    print(json.dumps({"path": path, "error": str(exc), "kept": len(claims)}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["path"].startswith(f"{tmp_path}/assetgrade-claims-") and got["path"].endswith(".sqlite")
    assert got["error"].startswith(f"m.csv: cannot keep the evidence ids of its rows in the temporary database"
                                   f" {got['path']} ("), got
    assert 0 < got["kept"] < 200_000
    assert not any(tmp_path.iterdir())


def test_claims_open_again_after_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    claims = Claims(source="m.csv")
    a = Claim("E1", "aa", "p", "m.csv:row 2")
    assert claims.first([a]) == [a] and claims.path is not None and not claims.path.exists()
    claims.close()
    assert claims.path is None and len(claims) == 0
    claims.open()
    assert claims.first([Claim("E1", "bb", "p", "m.csv:row 9")])[0].where == "m.csv:row 9"  # afresh
    claims.close()
    assert not any(tmp_path.iterdir())
