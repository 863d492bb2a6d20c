"""Spool copies in flight do not each hold an open file: an ingest row group of more large files than the process's
open-file limit (``RLIMIT_NOFILE``) goes through, and garbage collection still tells a running writer's copies
from a killed one's."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tests.unit.store.spool_support import DAY, HOUR

from assetgrade.store.blob_gc import collect_blob_garbage
from assetgrade.store.blobs import SPOOL_PREFIX, BlobStore, system_spool_dir

resource = pytest.importorskip("resource")  # POSIX only

LIMIT = 64  # open files; the copies in flight below are well over it


def _run(script: str, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, str(LIMIT), *args], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp)}, check=False, timeout=300)


_LOWER = ("import resource, sys\n"
          "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
          "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), hard))\n")


def test_a_row_group_of_more_large_files_than_the_open_file_limit_is_ingested(tmp_path: Path) -> None:
    # every file is spooled (the in-memory threshold is lowered from 32 MiB so the files stay small: the copies
    # are real, in the store's tmp/), and the whole group's copies live until the group is stored
    n = 3 * LIMIT
    script = _LOWER + (
        "import json\n"
        "from pathlib import Path\n"
        "import assetgrade.ingest.preparation as preparation\n"
        "from assetgrade.ingest.items import ItemSpec\n"
        "from assetgrade.ingest.writer import Ingestor\n"
        "from assetgrade.workspace import Workspace\n"
        "preparation._STREAM_BYTES = 1024\n"
        "root = Path(sys.argv[2])\n"
        "ws = Workspace.init(root / 'ws')\n"
        "items = [ItemSpec(where=p.name, asset_id='pump-1', kind='series', source_key=p.name, path=p)\n"
        "         for p in sorted((root / 'in').iterdir())]\n"
        "rep = Ingestor(ws, kind='doc', source='test', group_size=len(items)).run(items)\n"
        "print(json.dumps({'status': rep.status, 'added': rep.added.get('evidence'), 'errors': len(rep.errors),\n"
        "                  'tmp': sorted(p.name for p in (Path(ws.blobs.root) / 'tmp').glob('*'))}))\n")
    (tmp_path / "in").mkdir()
    for i in range(n):
        (tmp_path / "in" / f"s{i:03d}.bin").write_bytes(f"sensor {i};".encode() * 200)
    done = _run(script, str(tmp_path), tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"status": "done", "added": n, "errors": 0, "tmp": []}


@pytest.mark.parametrize("where", ["local", "object"])
def test_copies_held_past_the_open_file_limit_are_kept_by_a_collection_then_stored(
        where: str, tmp_path: Path) -> None:
    script = _LOWER + (
        "import io, json, os, time\n"
        "from assetgrade.store.blob_gc import collect_blob_garbage\n"
        "from assetgrade.store.blobs import BlobStore\n"
        "store = BlobStore(sys.argv[2])\n"
        "spools = [store.spool(io.BytesIO(b'copy %d' % i * 100)) for i in range(3 * int(sys.argv[1]))]\n"
        "for s in spools:\n"
        "    os.utime(s.path, (time.time() - 30 * 86400,) * 2)\n"
        "rep = collect_blob_garbage(store, set(), grace_s=3600.0, force=True)\n"
        "shas = [store.put_spool(s) for s in spools]\n"
        "print(json.dumps({'stale': rep.stale_tmp, 'stored': sum(store.exists(s) for s in set(shas)),\n"
        "                  'left': sum(s.path.exists() for s in spools)}))\n")
    url = str(tmp_path / "blobs") if where == "local" else f"memory://fd-{uuid.uuid4().hex}"
    done = _run(script, url, tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"stale": 0, "stored": 3 * LIMIT, "left": 0}


def test_a_killed_ingests_copies_and_its_claim_are_collected(system_tmp: Path) -> None:
    script = ("import io, os, signal, sys\n"
              "from assetgrade.store.blobs import BlobStore\n"
              "store = BlobStore(sys.argv[1])\n"
              "spools = [store.spool(io.BytesIO(b'x %d' % i)) for i in range(3)]\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    store = BlobStore(f"memory://killed-{uuid.uuid4().hex}")
    done = subprocess.run([sys.executable, "-c", script, store.url], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(system_tmp)}, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = sorted(system_spool_dir().iterdir())
    assert len(left) >= 3 and all(p.name.startswith(SPOOL_PREFIX) for p in left)
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 0  # young: kept
    for p in left:
        stamp = time.time() - 3 * DAY
        os.utime(p, (stamp, stamp))
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 3
    assert not system_spool_dir().exists() or not list(system_spool_dir().iterdir())


def test_a_copy_of_the_previous_scheme_is_kept_while_its_own_lock_is_held(tmp_path: Path) -> None:
    # an ingest of the version before this one, still running: each copy held its own shared flock
    import fcntl

    store = BlobStore(tmp_path / "blobs")
    tmp = Path(store.root) / "tmp"
    tmp.mkdir()
    copy = tmp / f"{SPOOL_PREFIX}{uuid.uuid4().hex}.part"
    with copy.open("wb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        fh.write(b"in flight")
        fh.flush()
        stamp = time.time() - 3 * DAY
        os.utime(copy, (stamp, stamp))
        assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 0 and copy.exists()
    assert collect_blob_garbage(store, set(), grace_s=HOUR).stale_tmp == 1 and not copy.exists()


def test_copies_in_flight_in_several_threads_share_one_claim_and_leave_nothing(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = BlobStore(tmp_path / "blobs")

    def one(i: int) -> str:
        return store.put_spool(store.spool(io.BytesIO(b"thread %d" % i * 50)))

    with ThreadPoolExecutor(8) as pool:
        shas = list(pool.map(one, range(64)))
    assert all(store.exists(s) for s in shas)
    assert not list((Path(store.root) / "tmp").iterdir())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_gives_up_its_parents_claim(tmp_path: Path) -> None:
    # a child that runs the parent's clean-up (a finally, a dropped Spool) must not free the parent's copies
    store = BlobStore(tmp_path / "blobs")
    spooled = store.spool(io.BytesIO(b"the parent's copy"))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            own = store.spool(io.BytesIO(b"the child's copy"))
            own.discard()
            assert spooled.hold is not None
            spooled.hold.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    stamp = time.time() - 3 * DAY
    os.utime(spooled.path, (stamp, stamp))
    assert collect_blob_garbage(store, set(), grace_s=HOUR, force=True).stale_tmp == 0
    assert store.put_spool(spooled) == spooled.sha and store.exists(spooled.sha)
    assert not list((Path(store.root) / "tmp").iterdir())
