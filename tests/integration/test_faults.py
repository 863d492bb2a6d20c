"""Faults: a worker killed mid-batch, the service killed mid-write, a full disk; resume, nothing partial."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from assetgrade.batch.jobs import SHARD_EVENT, plan_shards, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.errors import AssetgradeError, StoreError
from assetgrade.loadtest.load import Accepted
from assetgrade.loadtest.server import ServiceProcess
from assetgrade.loadtest.verify import verify_accepted
from assetgrade.store.audit import verify_chain
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.store.schema import AuditEvent, Label, Prediction, Review
from assetgrade.workspace import Workspace

N = 24
FAST = "fork"  # the tests' process has nothing threaded loaded; fork skips the workers' imports
WORDS = {"A": "no defects, runs clean", "B": "light wear and minor scratches", "C": "corrosion and a slow oil leak",
         "D": "fatigue crack, severe leak, seized bearing"}


def _seed(ws: Workspace) -> None:
    with ws.session() as s:
        for i in range(N):
            aid, g = f"asset-{i:03d}", "ABCD"[i % 4]
            add_asset(s, aid, asset_type="pump", value=1000.0)
            text = f"Inspection {i}: {WORDS[g]}."
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
            buf = io.BytesIO()
            Image.new("RGB", (8, 8), (i * 10, 50, 50)).save(buf, "PNG")
            sha = ws.blobs.put_bytes(buf.getvalue())
            add_evidence(s, asset_id=aid, kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                         evidence_id=f"{aid}/img", provenance=ProvenanceInfo(source="camera"))
            add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assetgrade.grader import Grader

    root = tmp_path_factory.mktemp("faults") / "ws"
    with Workspace.init(root) as ws:
        _seed(ws)
        Grader(extractors=("text",), folds=2, seed=0).fit(ws).save(ws.models_dir / "grader")
    return root


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Iterator[Workspace]:
    shutil.copytree(template, tmp_path / "ws")
    w = Workspace.open(tmp_path / "ws")
    yield w
    w.close()


def _counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.session(readonly=True) as s:
        preds = s.scalar(select(func.count()).select_from(Prediction)) or 0
        distinct = s.scalar(select(func.count(func.distinct(Prediction.asset_id)))) or 0
        marks = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == SHARD_EVENT)) or 0
    return int(preds), int(distinct), int(marks)


class DyingExecutor(LocalExecutor):
    """A real process pool whose worker SIGKILLs itself in the middle of shard 3, once (a marker file)."""

    def __init__(self, marker: Path, **kw: object) -> None:
        super().__init__(start_method=FAST, **kw)  # type: ignore[arg-type]
        os.environ["AG_TEST_KILL_MARKER"] = str(marker)

    def map_shards(self, fn, shards):  # type: ignore[no-untyped-def]
        return super().map_shards(_die_in_shard_3, shards)


def _die_in_shard_3(task):  # type: ignore[no-untyped-def]
    from assetgrade.batch.jobs import run_shard

    marker = Path(os.environ["AG_TEST_KILL_MARKER"])
    if task.index == 3 and not marker.exists():
        marker.write_text(str(os.getpid()))
        run_shard(task)  # the work is done, the result never gets back: the worker dies first
        os.kill(os.getpid(), signal.SIGKILL)
    return run_shard(task)


def test_worker_killed_mid_batch_the_batch_resumes_without_duplicates(ws: Workspace, tmp_path: Path) -> None:
    with DyingExecutor(tmp_path / "killed", workers=2, max_restarts=2) as ex:
        rep = run_batch(ws, "grade", ex, shard_size=3)
    assert (tmp_path / "killed").exists() and ex.restarts == 1
    assert (rep.shards_done, rep.written) == (12, N)  # shards of at most 3 assets by id hash
    assert _counts(ws) == (N, N, 12)  # every asset once, every shard marked once
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok


def test_a_crashed_batch_leaves_whole_shards_only_and_a_rerun_finishes(ws: Workspace, tmp_path: Path) -> None:
    with DyingExecutor(tmp_path / "killed", workers=2, max_restarts=0) as ex, \
            pytest.raises(AssetgradeError, match="broke"):
        run_batch(ws, "grade", ex, shard_size=3)
    preds, distinct, marks = _counts(ws)
    from assetgrade.grading.bundle import read_bundle_info

    mv = str(read_bundle_info(ws.models_dir / "grader")["model_version"])
    with ws.session(readonly=True) as s:
        marked = set(s.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == SHARD_EVENT)))
    whole = [a for k, ids in plan_shards(ws, "grade", model_version=mv, shard_size=3) if k in marked for a in ids]
    assert marks < 12 and preds == distinct == len(whole)  # committed shards are whole, nothing else
    with LocalExecutor(workers=2, start_method=FAST) as ex2:
        rep = run_batch(ws, "grade", ex2, shard_size=3)
    assert (rep.shards_skipped, rep.shards_done, rep.written) == (marks, 12 - marks, N - len(whole))
    assert _counts(ws) == (N, N, 12)


@pytest.mark.parametrize("workers", [1, 2])
def test_service_killed_mid_write_keeps_every_acknowledged_review_whole(ws: Workspace, workers: int) -> None:
    from assetgrade.rest.auth import create_token

    with ws.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
    svc = ServiceProcess(ws.path, workers=workers).start()
    accepted = Accepted()
    failures: list[str] = []
    stop = threading.Event()
    h = {"Authorization": f"Bearer {token}"}

    def post_reviews() -> None:
        i = 0
        with httpx.Client(base_url=svc.url, timeout=5.0) as c:
            while not stop.is_set() and i < 2000:
                aid = f"asset-{i % N:03d}"
                i += 1
                try:
                    ver = c.get(f"/api/v1/assets/{aid}", headers=h).json()["version"]
                    r = c.post(f"/api/v1/assets/{aid}/reviews", headers=h,
                               json={"expected_version": ver, "grade": "ABCD"[i % 4], "note": f"post {i}"})
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    failures.append(type(exc).__name__)
                    stop.wait(0.1)  # the service is restarting
                    continue
                if r.status_code == 201:
                    accepted.reviews.append({"id": r.json()["id"], "asset_id": aid})

    t = threading.Thread(target=post_reviews)
    t.start()
    try:
        while len(accepted.reviews) < 15 and t.is_alive():
            threading.Event().wait(0.02)
        svc.kill()  # mid-stream: a request is usually in flight
        before = len(accepted.reviews)
        svc.start()
        while len(accepted.reviews) < before + 15 and t.is_alive():
            threading.Event().wait(0.02)
    finally:
        stop.set()
        t.join(timeout=30)
        svc.stop()
    assert failures, "the kill should have cut at least one request"
    check = verify_accepted(ws, accepted)
    assert check["reviews"]["accepted"] >= 30 and check["lost_total"] == 0, check
    with ws.session(readonly=True) as s:  # nothing half-written, acknowledged or not
        review_ids = set(s.scalars(select(Review.id)))
        events = set(s.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "review.add")))
        labels = set(s.scalars(select(Label.id).where(Label.source == "review")))
        assert review_ids == events and {f"lb_{r}" for r in review_ids} == labels
        assert verify_chain(s).ok


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return res.returncode == 0


def test_full_disk_gives_a_store_error_naming_the_file_and_the_batch_resumes(ws: Workspace) -> None:
    from assetgrade.batch.jobs import features_dir

    rep0_dir = features_dir(ws, "probe").parent  # WORKSPACE/cache/features
    if not _mount_tmpfs(rep0_dir, "256k"):
        pytest.skip("cannot mount a size-limited tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        filler = rep0_dir / "filler"
        with filler.open("wb", buffering=0) as fh:  # fill the disk completely
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        with LocalExecutor(workers=1, start_method=FAST) as ex, pytest.raises(StoreError) as err:
            run_batch(ws, "extract", ex, shard_size=6)
        msg = str(err.value)
        assert "cannot write" in msg and ".npz" in msg and str(rep0_dir) in msg
        assert not [p for p in rep0_dir.rglob("*") if p.name.endswith(".part")], "a partial file was left"
        assert _counts(ws)[2] == 0  # no shard marked done
        filler.unlink()  # space freed
        with LocalExecutor(workers=1, start_method=FAST) as ex:
            rep = run_batch(ws, "extract", ex, shard_size=6)
            again = run_batch(ws, "extract", ex, shard_size=6)
        assert (rep.shards_done, rep.written, again.shards_skipped) == (6, N, 6)  # at most 6 assets a shard
    finally:
        subprocess.run(["umount", "-l", str(rep0_dir)], capture_output=True)
