"""``assetgrade bench ui``: how long the review UI's asset page takes, on a graded workspace.

It serves the workspace (``assetgrade serve`` on 127.0.0.1), logs in through the login form with
a reviewer token made for the run (revoked at the end), and requests the asset page of up to
``n_assets`` graded assets one at a time, twice: the first pass is the first view of each page
since the service started; the second is the page viewed again. Evidence features are never
computed here: they were computed when the assets were graded and live in the prediction, so
the page reads rows, parses the stored result, draws the SVG plots and renders the template.
Per pass it reports the document's latency at the client and the handler time from the
``Server-Timing`` header (p50/p95/max), and, for the whole page, the document plus every image
and heat-map overlay it references, fetched as a browser would (in parallel, 6 at a time), and the
load average before and after (``shared_machine``: client and server share the machine's CPUs).
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from assetgrade.bench.report import BenchResult, load_average
from assetgrade.errors import ValidationError
from assetgrade.loadtest.server import ServiceProcess, shared_machine
from assetgrade.loadtest.stats import nearest_rank

__all__ = ["TARGET_MS", "latency_stats", "run_ui_bench"]

TARGET_MS = 300.0
_IMG = re.compile(r'(?:src|data-overlay|data-src)="(/api/v1/evidence/[^"]+)"')
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def latency_stats(xs: list[float]) -> dict[str, float]:
    """p50, p95 (nearest rank: :func:`~assetgrade.loadtest.stats.nearest_rank`), max and mean of latencies in ms.

    Rounded to 0.1 ms; ``n`` is the number of latencies (below 20 the p95 is the slowest one).
    """
    a = sorted(float(x) for x in xs)
    return {"p50_ms": round(nearest_rank(a, 50), 1), "p95_ms": round(nearest_rank(a, 95), 1),
            "max_ms": round(a[-1], 1), "mean_ms": round(float(np.mean(a)), 1), "n": len(a)}


def _graded_assets(ws: Any, n: int) -> list[str]:
    from sqlalchemy import select

    from assetgrade.store.schema import PredictionHead

    with ws.session(readonly=True) as s:
        queued = list(s.execute(select(PredictionHead.asset_id).where(PredictionHead.queued.is_(True))
                                .order_by(PredictionHead.asset_id).limit(n)).scalars())
        if len(queued) < n:
            more = s.execute(select(PredictionHead.asset_id).where(PredictionHead.queued.is_(False))
                             .order_by(PredictionHead.asset_id).limit(n - len(queued))).scalars()
            queued += list(more)
    return queued


def _page(client: httpx.Client, asset_id: str) -> tuple[float, float | None, str]:
    from urllib.parse import quote

    t = time.perf_counter()
    r = client.get(f"/ui/assets/{quote(asset_id)}")
    ms = (time.perf_counter() - t) * 1000.0
    if r.status_code != 200:
        raise ValidationError(f"the asset page of {asset_id!r} answered {r.status_code}", where=asset_id)
    m = _TIMING.search(r.headers.get("server-timing", ""))
    return ms, (float(m.group(1)) if m else None), r.text


def _with_subresources(client: httpx.Client, html: str, doc_ms: float) -> tuple[float, int]:
    """Document time plus the images and overlays it references, fetched 6 at a time (like a browser)."""
    from concurrent.futures import ThreadPoolExecutor

    urls = sorted(set(_IMG.findall(html)))
    if not urls:
        return doc_ms, 0
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda u: client.get(u).status_code, urls))
    bad = [u for u, c in zip(urls, codes, strict=True) if c != 200]
    if bad:
        raise ValidationError(f"page resources failed: {bad[:3]}", where="asset page")
    return doc_ms + (time.perf_counter() - t) * 1000.0, len(urls)


def run_ui_bench(workspace: Path, *, n_assets: int = 50, threads: int = 4) -> BenchResult:
    """Time the asset page of up to ``n_assets`` graded assets of ``workspace`` (first view and again).

    It runs on a copy of the workspace (as ``bench grade-api`` does): its login token, audit
    events and service log never reach the workspace measured.
    """
    from assetgrade.loadtest.grade_bench import copy_workspace
    from assetgrade.workspace import Workspace

    if n_assets < 1:
        raise ValidationError(f"{n_assets} must be >= 1", where="--assets")
    if threads < 1:
        raise ValidationError(f"{threads} must be >= 1", where="--threads")
    t0, load_before = time.perf_counter(), load_average()
    with tempfile.TemporaryDirectory(prefix="assetgrade-bench-ui-") as tmp:  # the user's workspace stays untouched
        copy = Path(tmp) / "ws"
        copy_workspace(Path(workspace), copy)
        return _run_ui_bench(Workspace.open(copy), workspace, n_assets=n_assets, threads=threads, t0=t0,
                             load_before=load_before)


def _run_ui_bench(ws: Any, workspace: Path, *, n_assets: int, threads: int, t0: float,
                  load_before: list[float] | None) -> BenchResult:
    from assetgrade.rest.auth import create_token, revoke_token

    ids = _graded_assets(ws, n_assets)
    if not ids:
        ws.close()
        raise ValidationError(f"{workspace} has no graded asset: run `make demo` (or `assetgrade grade --all`) first",
                              where=str(workspace))
    name = f"bench-ui-{secrets.token_hex(4)}"
    with ws.session() as s:
        token, _ = create_token(s, name=name, role="reviewer", actor="bench-ui")
    passes: dict[str, dict[str, list[float]]] = {}
    n_resources: list[int] = []
    try:
        with ServiceProcess(ws.path, threads=threads) as svc, httpx.Client(base_url=svc.url, timeout=30) as client:
            r = client.post("/ui/login", data={"token": token, "next": "/ui/queue"}, follow_redirects=False)
            if r.status_code != 303 or "assetgrade_session" not in client.cookies:
                raise ValidationError(f"login failed with {r.status_code}", where="/ui/login")
            for name_ in ("first_view", "again"):
                doc, handler, full = [], [], []
                for aid in ids:
                    ms, server_ms, html = _page(client, aid)
                    doc.append(ms)
                    if server_ms is not None:
                        handler.append(server_ms)
                    total, k = _with_subresources(client, html, ms)
                    full.append(total)
                    if name_ == "first_view":
                        n_resources.append(k)
                passes[name_] = {"document": doc, "handler": handler, "with_images": full}
            load_after = load_average()
    finally:
        with ws.session() as s:
            revoke_token(s, name, actor="bench-ui")
        ws.close()
    out = {p: {k: latency_stats(v) for k, v in d.items() if v} for p, d in passes.items()}
    worst_p95 = max(out[p]["document"]["p95_ms"] for p in out)
    metrics = {
        "document_p50_ms_first_view": out["first_view"]["document"]["p50_ms"],
        "document_p95_ms_first_view": out["first_view"]["document"]["p95_ms"],
        "document_p95_ms_again": out["again"]["document"]["p95_ms"],
        "with_images_p95_ms_first_view": out["first_view"]["with_images"]["p95_ms"],
        "n_pages": len(ids), "target_ms": TARGET_MS, "meets_target": bool(worst_p95 < TARGET_MS),
    }
    return BenchResult(
        benchmark="ui", dataset=f"workspace {Path(workspace).resolve()} ({len(ids)} graded assets)",
        split="asset pages, first view then again", seed=0, metrics=metrics, wall_s=time.perf_counter() - t0,
        extra={"passes": out,
               "images_per_page": {"min": min(n_resources), "mean": round(float(np.mean(n_resources)), 2),
                                   "max": max(n_resources)},
               "server": f"assetgrade serve, 1 worker, {threads} threads; client: httpx, one page at a time",
               "shared_machine": shared_machine(load_before, load_after, sharing="client and server")},
    )
