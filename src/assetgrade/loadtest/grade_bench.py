"""``assetgrade bench grade-api``: how long ``POST /api/v1/assets/{id}/grade`` takes, cold and again.

The benchmark copies the workspace (its SQLite store, blobs, models and config; not its caches,
imports or reports) into a temporary folder, so the predictions and audit events it records never
reach the workspace itself, serves the copy (``assetgrade serve`` on 127.0.0.1), makes an admin
token there, and grades up to ``n_assets`` assets one at a time, twice. The first pass starts
with an empty evidence store: the first request also loads the grader, and every asset runs the
extractors (cold). The second pass grades the same assets again: their evidence rows and heat
maps come from the evidence store (the predictions are recorded again either way). It reports
the latency at the client per pass (p50/p95/max), the first request apart, the throughput of
each pass, whether the two passes gave the same grades and distributions, and the load average
before and after (``shared_machine``: client and server share the machine's CPUs).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from assetgrade.bench.report import BenchResult, load_average
from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.loadtest.server import ServiceProcess, shared_machine
from assetgrade.loadtest.ui_bench import latency_stats

__all__ = ["copy_workspace", "run_grade_api_bench"]

_COPY = ("assetgrade.yaml", "assetgrade.db", "blobs", "models")


def copy_workspace(src: Path, dst: Path) -> None:
    """The parts of a local workspace that serving and grading need (a consistent SQLite copy via its backup API)."""
    import sqlite3
    from contextlib import closing

    dst.mkdir(parents=True)
    for name in _COPY:
        p = src / name
        if name == "assetgrade.db":
            with closing(sqlite3.connect(p)) as a, closing(sqlite3.connect(dst / name)) as b:
                a.backup(b)
        elif p.is_dir():
            shutil.copytree(p, dst / name)
        elif p.exists():
            shutil.copy2(p, dst / name)


def run_grade_api_bench(workspace: Path, *, n_assets: int = 30, threads: int = 4) -> BenchResult:
    """Time grading ``n_assets`` assets of a copy of ``workspace`` through the REST API (cold, then again)."""
    from assetgrade.grading.bundle import read_bundle_info
    from assetgrade.rest.auth import create_token
    from assetgrade.review.suggest import no_grader_error
    from assetgrade.store.repository import list_assets
    from assetgrade.workspace import Workspace

    if n_assets < 1:
        raise ValidationError(f"{n_assets} must be >= 1", where="--assets")
    if threads < 1:
        raise ValidationError(f"{threads} must be >= 1", where="--threads")
    t0 = time.perf_counter()
    load_before = load_average()
    workspace = Path(workspace)
    with Workspace.open(workspace) as ws:
        db = ws.engine.url.database
        if (ws.engine.url.get_backend_name() != "sqlite" or db is None
                or Path(db).resolve() != (workspace / "assetgrade.db").resolve() or ws.config.blob_root is not None):
            raise ValidationError("bench grade-api copies the workspace; it needs the workspace's own SQLite store "
                                  "and blob folder", where=str(workspace))
        try:
            model = read_bundle_info(ws.grader_dir)
        except NotFoundError as exc:  # what to label first while train cannot run, as grade and the service say
            raise no_grader_error(ws, exc) from exc
        with ws.session(readonly=True) as s:
            ids = [a.id for a in list_assets(s, limit=n_assets)]
    if not ids:
        raise ValidationError(f"{workspace} has no asset", where=str(workspace))
    passes: dict[str, list[float]] = {}
    wall: dict[str, float] = {}
    graded: dict[str, list[tuple[str, dict[str, float]]]] = {}
    first_ms = 0.0
    with tempfile.TemporaryDirectory(prefix="assetgrade-bench-grade-") as tmp:
        copy = Path(tmp) / "ws"
        copy_workspace(workspace, copy)
        with Workspace.open(copy) as cws, cws.session() as s:
            token, _ = create_token(s, name="bench-grade", role="admin", actor="bench-grade-api")
        with ServiceProcess(copy, threads=threads) as svc, httpx.Client(
                base_url=svc.url, timeout=600, headers={"Authorization": f"Bearer {token}"}) as client:
            for name in ("cold", "again"):
                times: list[float] = []
                out: list[tuple[str, dict[str, float]]] = []
                t_pass = time.perf_counter()
                for aid in ids:
                    t = time.perf_counter()
                    r = client.post(f"/api/v1/assets/{quote(aid)}/grade")
                    ms = (time.perf_counter() - t) * 1000.0
                    if r.status_code != 201:
                        raise ValidationError(f"grading {aid!r} answered {r.status_code}: {r.text[:200]}", where=aid)
                    body: dict[str, Any] = r.json()
                    out.append((str(body["grade"]), dict(body["distribution"])))
                    times.append(ms)
                wall[name] = time.perf_counter() - t_pass
                if name == "cold":
                    first_ms, times = times[0], times[1:] or times
                passes[name], graded[name] = times, out
            load_after = load_average()
    stats = {p: latency_stats(v) for p, v in passes.items()}
    metrics = {
        "first_request_ms": round(first_ms, 1),
        "cold_p50_ms": stats["cold"]["p50_ms"], "cold_p95_ms": stats["cold"]["p95_ms"],
        "again_p50_ms": stats["again"]["p50_ms"], "again_p95_ms": stats["again"]["p95_ms"],
        "cold_assets_per_s": round(len(ids) / wall["cold"], 2),
        "again_assets_per_s": round(len(ids) / wall["again"], 2),
        "same_results": graded["cold"] == graded["again"],
        "n_assets": len(ids),
    }
    return BenchResult(
        benchmark="grade-api", dataset=f"workspace {workspace.resolve()} ({len(ids)} assets, a copy)",
        split="POST /assets/{id}/grade, cold then again", seed=0, metrics=metrics, wall_s=time.perf_counter() - t0,
        extra={"passes": stats, "model_version": model.get("model_version"),
               "server": f"assetgrade serve, 1 worker, {threads} threads; client: httpx, one request at a time",
               "shared_machine": shared_machine(load_before, load_after, sharing="client and server")},
    )
