"""The store and ingest CLI end to end: init, ingest (with a bad row), stats, assets list/show, db upgrade."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app

runner = CliRunner()


def _jpeg(c: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (16, 16), c).save(buf, "JPEG")
    return buf.getvalue()


def test_cli_init_ingest_inspect(tmp_path: Path) -> None:
    app = build_app()
    ws = tmp_path / "ws"
    r = runner.invoke(app, ["init", str(ws)])
    assert r.exit_code == 0, r.output
    assert (ws / "assetgrade.yaml").exists()
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path,text,grade,defect\n"
                                    "pump-1,image,a.jpg,,B,corrosion\n"
                                    "pump-1,log,,seal leaking,,\n")
    r = runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "added evidence" in r.output and "report:" in r.output
    r = runner.invoke(app, ["stats", "-w", str(ws), "--json"])
    st = json.loads(r.output)
    assert st["modality"] == {"image": 1, "log": 1} and st["grade"] == {"B": 1}
    r = runner.invoke(app, ["assets", "list", "-w", str(ws), "--json"])
    assert json.loads(r.output) == [{"asset_id": "pump-1", "asset_type": "unknown", "images": 1, "logs": 1,
                                     "series": 0, "grade": "B"}]
    r = runner.invoke(app, ["assets", "show", "pump-1", "-w", str(ws), "--json"])
    doc = json.loads(r.output)
    assert {e["kind"] for e in doc["evidence"]} == {"image", "log"}
    assert {(lb["kind"], lb["value"]) for lb in doc["labels"]} == {("grade", "B"), ("defect", "corrosion")}
    r = runner.invoke(app, ["db", "upgrade", "-w", str(ws)])
    from assetgrade.store.engine import head_revision

    assert r.exit_code == 0 and head_revision() in r.output
    r = runner.invoke(app, ["assets", "show", "pump-1"], env={"ASSETGRADE_WORKSPACE": str(ws)})
    assert r.exit_code == 0 and "seal leaking" in r.output


def test_stats_names_labels_that_are_not_in_the_ontology(tmp_path: Path) -> None:
    from sqlalchemy import update

    from assetgrade.store.schema import Label
    from assetgrade.workspace import Workspace

    app, runner = build_app(), CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path,text,grade,defect\npump-1,image,a.jpg,,B,corrosion\n"
                                    "pump-2,log,,worn,C,\n")
    assert runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["stats", "-w", str(ws)])
    assert r.exit_code == 0 and "not on the ontology" not in r.output and "not in the ontology" not in r.output
    with Workspace.open(ws) as w, w.session() as s:  # labels stored under an earlier ontology's scale
        s.execute(update(Label).where(Label.kind == "grade", Label.value == "B").values(value="E"))
        s.execute(update(Label).where(Label.kind == "defect").values(value="scorch"))
    r = runner.invoke(app, ["stats", "-w", str(ws), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["grade"] == {"C": 1, "E": 1}  # counted as stored
    assert "grades not on the ontology's scale A, B, C, D: E (1 assets)" in r.stderr
    assert "defect labels not in the ontology: scorch (1)" in r.stderr


def test_cli_exit_codes_and_report_on_bad_rows(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    exe = [sys.executable, "-m", "assetgrade.cli"]
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0  # in process: the exit codes below are real
    (tmp_path / "m.csv").write_text("asset_id,kind,text,defect,sevrity\nx,log,ok,,\ny,log,bad,warp_drive,\n")
    r = subprocess.run([*exe, "ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)], capture_output=True,
                       text=True)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "warp_drive" in r.stdout and "rejected" in r.stderr
    said = " ".join(r.stdout.split())  # rich wraps long lines
    assert "column 'sevrity' is not a manifest column and was ignored (did you mean 'severity'?)" in said
    report = json.loads(next((ws / "reports").glob("ingest-*.json")).read_text())
    assert report["added"]["evidence"] == 1
    assert report["errors"][0]["row"] == 3 and report["errors"][0]["field"] == "defect"
    r = subprocess.run([*exe, "stats", "-w", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert r.returncode == 3 and "assetgrade init" in r.stderr


def test_serve_refuses_a_short_session_secret_naming_the_variable(tmp_path: Path) -> None:
    import os

    exe = [sys.executable, "-m", "assetgrade.cli"]
    assert runner.invoke(build_app(), ["init", str(tmp_path / "ws")]).exit_code == 0  # serve's exit code is real
    r = subprocess.run([*exe, "serve", "-w", str(tmp_path / "ws"), "--port", "1"], capture_output=True, text=True,
                       env={**os.environ, "ASSETGRADE_SESSION_SECRET": "short"}, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ASSETGRADE_SESSION_SECRET" in r.stderr and "16 characters" in r.stderr


def test_cli_gc_blobs_removes_only_old_orphans(tmp_path: Path) -> None:
    import os
    import time

    from assetgrade.store import verify_chain
    from assetgrade.workspace import Workspace

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path,text,grade,defect\npump-1,image,a.jpg,,B,\n")
    assert runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)]).exit_code == 0
    with Workspace.open(ws) as w:
        orphan = w.blobs.put_bytes(b"a crashed ingest left this")
        old = time.time() - 3 * 24 * 3600
        for sha in (orphan, *[p.name for p in Path(w.blobs.root).glob("??/??/*")]):
            os.utime(w.blobs.path_for(sha), (old, old))
    r = runner.invoke(app, ["db", "gc-blobs", "-w", str(ws), "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    dry = json.loads(r.output)
    assert (dry["stored"], dry["referenced"], dry["orphans"], dry["deleted"]) == (2, 1, 1, 0)
    r = runner.invoke(app, ["db", "gc-blobs", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "deleted 1" in r.output
    with Workspace.open(ws) as w:
        assert not w.blobs.exists(orphan)
        with w.session(readonly=True) as s:
            assert verify_chain(s).ok
    r = runner.invoke(app, ["assets", "show", "pump-1", "-w", str(ws), "--json"])
    assert r.exit_code == 0 and "pump-1" in r.output


def test_stored_text_prints_as_it_is_not_as_rich_markup(tmp_path: Path, monkeypatch: Any,
                                                        capsys: Any) -> None:
    from assetgrade.cli.app import main

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (tmp_path / "m.csv").write_text('asset_id,kind,text\n"a[/]b",log,seal ok\n'
                                    '"c[red]d",log,changed steel pipe [common return ]with\n')
    r = runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["assets", "list", "-w", str(ws)], terminal_width=200)
    assert r.exit_code == 0 and "a[/]b" in r.output and "c[red]d" in r.output, r.output
    from assetgrade.store.schema import Asset
    from assetgrade.workspace import Workspace

    with Workspace.open(ws) as w, w.session() as s:
        s.get(Asset, "c[red]d").attributes = {"split": "train", "seller": "[b]Acme[/b]"}
    r = runner.invoke(app, ["assets", "show", "c[red]d", "-w", str(ws)], terminal_width=200)
    assert r.exit_code == 0 and "c[red]d" in r.output and "[common return ]with" in r.output, r.output
    assert 'split: "train"' in r.output and 'seller: "[b]Acme[/b]"' in r.output  # attributes, as stored
    for missing in ("nope[red]x", "nope[/]"):
        monkeypatch.setattr("sys.argv", ["assetgrade", "assets", "show", missing, "-w", str(ws)])
        with pytest.raises(SystemExit) as done:
            main()
        err = capsys.readouterr().err
        assert done.value.code == 3 and f"asset {missing!r} not found" in err and "Traceback" not in err, err


def test_a_lost_database_is_never_recreated_empty_and_its_blobs_are_kept(tmp_path: Path, monkeypatch: Any) -> None:
    """The path to data loss: open creates an empty assetgrade.db, `db upgrade` as advised, gc deletes every blob."""
    import os
    import time

    from assetgrade.cli.app import exit_code_for
    from assetgrade.errors import AssetgradeError
    from assetgrade.workspace import Workspace

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path\npump-1,image,a.jpg\n")
    assert runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)]).exit_code == 0
    blob = next(Path(ws / "blobs").glob("??/??/*"))
    old = time.time() - 3 * 24 * 3600
    os.utime(blob, (old, old))
    for f in ws.glob("assetgrade.db*"):
        f.unlink()
    monkeypatch.delenv("ASSETGRADE_STORE", raising=False)
    for argv in (["stats"], ["db", "upgrade"], ["db", "gc-blobs"]):
        r = runner.invoke(app, [*argv, "-w", str(ws)])
        assert isinstance(r.exception, AssetgradeError) and exit_code_for(r.exception) == 3, (argv, r.output)
        assert "no database at" in str(r.exception) and "ASSETGRADE_STORE" in str(r.exception)
        assert not (ws / "assetgrade.db").exists() and blob.exists(), argv
    # an empty store (a new database that was never upgraded) is named, with where its URL came from
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).close()
    with pytest.raises(AssetgradeError, match=r"has no assetgrade tables.*--store"):
        Workspace.open(ws, store_url=f"sqlite:///{empty}")


def test_a_relative_sqlite_store_in_the_config_lies_in_the_workspace(tmp_path: Path, monkeypatch: Any) -> None:
    from assetgrade.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws", store_url="sqlite:///rel.db")
    ws.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSETGRADE_STORE", raising=False)
    with Workspace.open(tmp_path / "ws") as w:
        assert w.store_url == f"sqlite:///{(tmp_path / 'ws' / 'rel.db').resolve()}"
    assert (tmp_path / "ws" / "rel.db").exists() and not (tmp_path / "rel.db").exists()


def test_a_blob_store_that_cannot_be_written_stops_the_ingest_as_a_store_error(tmp_path: Path) -> None:
    """A full or read-only blob store is the store's fault (exit 6), not every input row's (exit 2)."""
    from assetgrade.cli.app import exit_code_for
    from assetgrade.errors import StoreError
    from assetgrade.workspace import Workspace

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (ws / "blobs" / "tmp").write_text("not a folder: every blob write fails here")
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path,text\npump-1,image,a.jpg,\npump-2,log,,seal ok\n")
    r = runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)])
    assert isinstance(r.exception, StoreError) and exit_code_for(r.exception) == 6, r.output
    assert "cannot write to the blob store" in str(r.exception)
    with Workspace.open(ws) as w, w.session(readonly=True) as s:
        from sqlalchemy import select

        from assetgrade.store.schema import Asset, IngestBatch

        assert s.execute(select(Asset.id)).scalars().all() == []
        assert s.execute(select(IngestBatch.status)).scalars().all() == ["failed"]
    (ws / "blobs" / "tmp").unlink()
    (tmp_path / "folder.jpg").mkdir()  # an unreadable source stays that row's error
    (tmp_path / "m2.csv").write_text("asset_id,kind,path\npump-3,image,folder.jpg\npump-1,image,a.jpg\n")
    r = runner.invoke(app, ["ingest", "manifest", str(tmp_path / "m2.csv"), "-w", str(ws)])
    assert r.exception is not None and exit_code_for(r.exception) == 2  # type: ignore[arg-type]
    listed = runner.invoke(app, ["assets", "list", "-w", str(ws)]).output
    assert "pump-3" not in listed and "pump-1" in listed


def test_cli_ingest_series_numeric_time(tmp_path: Path) -> None:
    # ms since power-on that fall in the Unix-seconds range: the default guess tells the user how to opt out
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    rows = "".join(f"{1_814_400_000 + 500 * i},{20 + i}\n" for i in range(4))
    (tmp_path / "pump-1.csv").write_text("t_ms,temp\n" + rows)
    (tmp_path / "pump-2.csv").write_text("t_ms,temp\n" + rows)
    r = runner.invoke(app, ["ingest", "series", str(tmp_path / "pump-1.csv"), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "--numeric-time number" in " ".join(r.output.split())
    r = runner.invoke(app, ["ingest", "series", str(tmp_path / "pump-2.csv"), "-w", str(ws), "--numeric-time",
                            "number"])
    assert r.exit_code == 0, r.output
    assert "Unix time" not in r.output
    r = runner.invoke(app, ["ingest", "series", str(tmp_path / "pump-2.csv"), "-w", str(ws), "--numeric-time",
                            "unix"])
    out = " ".join(r.output.split())
    assert r.exit_code == 2  # a usage error (a Click choice), before anything is read
    assert "Invalid value for '--numeric-time'" in out and "'auto', 'number'" in out
    from assetgrade.store import load_records
    from assetgrade.workspace import Workspace

    with Workspace.open(ws) as w:
        index = {rec.asset_id: rec.series[0].load().index for rec in load_records(w, ["pump-1", "pump-2"])}
    assert str(index["pump-1"][0]) == "2027-07-01 00:00:00+00:00"  # 1,814,400,000 read as Unix seconds
    assert index["pump-2"].tolist() == [1_814_400_000 + 500 * i for i in range(4)]
