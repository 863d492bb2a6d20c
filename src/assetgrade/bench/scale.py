"""``assetgrade bench scale``: batch grading throughput on 1 and 2 local workers and a 2-worker Ray instance.

The workspace is the linked multimodal benchmark's shipped sample (ELPV images, C-MAPSS series,
MaintIE logs) ingested through the ordinary manifest path, and a Grader trained on it (or an
existing workspace and model). Every run grades every asset into a fresh copy of the store (the
batch jobs skip predictions that exist, so runs must not share one), through
:func:`assetgrade.batch.jobs.run_batch`.

Reported: assets/s per run, scaling efficiency ``(thr_W / thr_1) / W``, the measured per-asset
compute cost (worker side) and per-asset store write cost (driver side, serial), and a
projection for 10 and 100 workers under the stated assumptions (Amdahl-style: the compute part
divides by the workers, the store writes do not; Amdahl 1967).
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from assetgrade.bench.report import BenchResult

__all__ = ["check_scale_inputs", "compare_runs", "project", "run_scale_bench"]


def check_scale_inputs(*, shard_size: int, workspace: Path | None = None, model: Path | None = None) -> None:
    """ValidationError naming the option when the run cannot work, before anything is built or copied.

    >>> check_scale_inputs(shard_size=0)
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: --shard-size: 0 must be >= 1
    """
    from assetgrade.config import CONFIG_NAME
    from assetgrade.errors import ValidationError
    from assetgrade.workspace import DB_NAME

    if shard_size < 1:
        raise ValidationError(f"{shard_size} must be >= 1", where="--shard-size")
    if workspace is None:
        if model is not None:
            raise ValidationError("--model goes with --workspace (the built workspace trains its own grader)",
                                  where="--model")
        return
    missing = [n for n in (CONFIG_NAME, DB_NAME) if not (Path(workspace) / n).is_file()]
    if missing:
        raise ValidationError(f"{Path(workspace).resolve()} is not an assetgrade workspace (no {missing[0]}); bench "
                              "scale copies a workspace's own SQLite store", where="--workspace")
    mpath = Path(model) if model is not None else Path(workspace) / "models" / "grader"
    if not mpath.is_dir():
        raise ValidationError(f"no saved grader at {mpath}; train one (assetgrade train) or pass --model DIR",
                              where="--model")


def _prepare(root: Path, n_assets: int, extractors: tuple[str, ...], seed: int) -> tuple[Path, Path]:
    from assetgrade.datasets.linked import build_linked, write_linked
    from assetgrade.grader import Grader
    from assetgrade.ingest import Ingestor, manifest_items
    from assetgrade.workspace import Workspace

    with Workspace.init(root / "template") as ws:
        bench = build_linked(n_assets=n_assets, seed=seed, source="sample")
        manifest = write_linked(bench, ws.path / "import" / "linked")
        Ingestor(ws, kind="manifest", source="bench scale (linked sample)").run(manifest_items(manifest))
        grader = Grader(extractors=extractors, folds=3, seed=seed).fit(ws)
        model = grader.save(ws.grader_dir)
        return ws.path, model


def _fusion_of(model: Path) -> str | None:
    """The fusion model the saved grader fitted (``bundle.json``), for the record; None when it does not say."""
    from assetgrade.errors import NotFoundError, ValidationError
    from assetgrade.grading.bundle import read_bundle_info

    try:
        info = read_bundle_info(model).get("fusion") or {}
    except (NotFoundError, ValidationError):
        return None
    kind = info.get("model") if isinstance(info, dict) else None
    return str(kind) if kind else None


def _fresh_copy(template: Path, dst: Path) -> Path:
    """A workspace sharing the template's blobs with its own copy of the SQLite store."""
    from assetgrade.config import CONFIG_NAME, load_config, save_config
    from assetgrade.workspace import DB_NAME, SUBDIRS

    dst.mkdir(parents=True)
    for sub in SUBDIRS:
        (dst / sub).mkdir()
    shutil.copy2(template / DB_NAME, dst / DB_NAME)
    cfg = load_config(template / CONFIG_NAME)
    cfg.blob_root = cfg.blob_root or str(template / "blobs")
    save_config(cfg, dst / CONFIG_NAME)
    return dst


def _one_run(template: Path, root: Path, name: str, backend: str, workers: int, model: Path,
             shard_size: int) -> dict[str, Any]:
    from assetgrade.batch.backends import make_executor
    from assetgrade.batch.jobs import run_batch
    from assetgrade.workspace import Workspace

    path = _fresh_copy(template, root / name)
    temp = Path(tempfile.mkdtemp(prefix="agr-", dir="/tmp")) if backend == "ray" else None  # short socket paths
    with Workspace.open(path) as ws:
        t0 = time.perf_counter()
        ex = make_executor(backend, workers=workers, temp_dir=temp)
        try:
            stamps: list[float] = []
            rep = run_batch(ws, "grade", ex, model_path=model, shard_size=shard_size,
                            progress=lambda done, _total: stamps.append(time.perf_counter()) if done else None)
        finally:
            ex.close()
        wall = time.perf_counter() - t0
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    shard_compute = sorted(rep.compute_s)
    per_asset_compute = _per_asset_compute(rep.compute_s, rep.shard_assets)
    steady = _steady(rep.written, rep.shard_assets[0] if rep.shard_assets else 0, stamps)
    return {"backend": backend, "workers": workers, "assets": rep.written, "shards": rep.shards_done,
            "errors": len(rep.errors), "wall_s": round(wall, 2),
            "assets_per_s": round(rep.written / wall, 2) if wall > 0 else None,
            "startup_s": round(stamps[0] - t0, 2) if stamps else None,
            "steady_assets_per_s": None if steady is None else round(steady, 2),
            "shard_compute_s_median": round(statistics.median(shard_compute), 3) if shard_compute else None,
            "shard_compute_s_max": round(shard_compute[-1], 3) if shard_compute else None,
            "per_asset_compute_s": float(f"{per_asset_compute:.4g}"),  # significant digits: fast assets stay > 0
            "per_asset_write_s": round(sum(rep.write_s) / max(rep.written, 1), 5)}


def _per_asset_compute(compute_s: list[float], shard_assets: list[int]) -> float:
    """Median over shards of each shard's compute time over its own asset count (NaN without shards).

    Shards hold up to ``--shard-size`` assets (the id-hash cut, scale.md), so dividing by the shard
    size would read partly filled shards as fast ones.

    >>> _per_asset_compute([1.0, 2.0, 3.0], [2, 4, 3])  # 0.5, 0.5 and 1.0 s per asset
    0.5
    """
    per_shard = [c / n for c, n in zip(compute_s, shard_assets, strict=True) if n]
    return statistics.median(per_shard) if per_shard else float("nan")


def _steady(written: int, first_shard: int, stamps: list[float]) -> float | None:
    """Assets/s from the first finished shard to the last (worker start-up and model loads excluded).

    ``first_shard`` is how many assets the first finished shard held (not counted: they finished at
    the span's start). None when there is no such span: fewer than two shards finished, or no asset
    written after the first one (every later shard failed), where a rate of 0 or below would be no
    measurement.

    >>> _steady(30, 10, [1.0, 2.0, 3.0]), _steady(10, 10, [1.0, 2.0]), _steady(30, 10, [1.0])
    (10.0, None, None)
    """
    if len(stamps) < 2 or stamps[-1] <= stamps[0] or written <= first_shard:
        return None
    return (written - first_shard) / (stamps[-1] - stamps[0])


def _ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing, not a positive finite number (no measurement to compare)."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0 or a < 0:
        return None
    return a / b


def compare_runs(runs: list[dict[str, Any]]) -> None:
    """Add speed-up and scaling efficiency against the first run (1 local worker) to each run, in place.

    A run without a usable throughput (nothing written, no steady span) gets None, not 0, NaN or a crash.

    >>> runs = [{"workers": 1, "assets_per_s": 4.0, "steady_assets_per_s": None},
    ...         {"workers": 2, "assets_per_s": 6.0, "steady_assets_per_s": 7.0}]
    >>> compare_runs(runs); [(r["scaling_efficiency"], r["steady_scaling_efficiency"]) for r in runs]
    [(1.0, None), (0.75, None)]
    """
    base, base_steady = runs[0]["assets_per_s"], runs[0]["steady_assets_per_s"]
    for r in runs:
        speedup = _ratio(r["assets_per_s"], base)
        steady = _ratio(r["steady_assets_per_s"], base_steady)
        r["speedup_vs_local1"] = None if speedup is None else round(speedup, 3)
        r["scaling_efficiency"] = None if speedup is None else round(speedup / r["workers"], 3)
        r["steady_scaling_efficiency"] = None if steady is None else round(steady / r["workers"], 3)


def project(per_asset_compute_s: float, per_asset_write_s: float, workers: int) -> dict[str, Any]:
    """Steady-state assets/s with ``workers``: min(W / compute cost, 1 / serial store write cost).

    Without a measured compute cost (no shard graded: NaN, or 0) there is nothing to project: the
    figures are None.

    >>> project(0.1, 0.002, 10)["bound_by"], project(float("nan"), 0.002, 10)["assets_per_s"]
    ('compute', None)
    """
    if not (math.isfinite(per_asset_compute_s) and per_asset_compute_s > 0):
        return {"workers": workers, "assets_per_s": None, "compute_bound_assets_per_s": None,
                "store_write_bound_assets_per_s": None, "bound_by": None, "assets_per_day_millions": None}
    compute_bound = workers / per_asset_compute_s
    write_bound = 1.0 / per_asset_write_s if per_asset_write_s > 0 else float("inf")
    return {"workers": workers, "assets_per_s": round(min(compute_bound, write_bound), 1),
            "compute_bound_assets_per_s": round(compute_bound, 1), "store_write_bound_assets_per_s":
            round(write_bound, 1), "bound_by": "compute" if compute_bound < write_bound else "store writes",
            "assets_per_day_millions": round(min(compute_bound, write_bound) * 86400 / 1e6, 2)}


def run_scale_bench(*, n_assets: int = 120, shard_size: int = 10, extractors: tuple[str, ...] = ("sensors", "text"),
                    seed: int = 0, with_ray: bool = True, workspace: Path | None = None,
                    model: Path | None = None) -> BenchResult:
    """Build (or reuse) a graded workspace and time batch grading on each backend."""
    from assetgrade.batch.ray_executor import ray_available

    check_scale_inputs(shard_size=shard_size, workspace=workspace, model=model)
    if n_assets < 1:
        from assetgrade.errors import ValidationError

        raise ValidationError(f"{n_assets} must be >= 1", where="--assets")
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="assetgrade-scale-"))
    try:
        if workspace is not None:
            template, mpath = Path(workspace), Path(model or Path(workspace) / "models" / "grader")
        else:
            template, mpath = _prepare(root, n_assets, extractors, seed)
        fusion = _fusion_of(mpath)
        runs = [_one_run(template, root, "local1", "local", 1, mpath, shard_size),
                _one_run(template, root, "local2", "local", 2, mpath, shard_size)]
        notes = []
        if with_ray and ray_available():
            runs.append(_one_run(template, root, "ray2", "ray", 2, mpath, shard_size))
        else:
            notes.append("Ray run skipped: " + ("--no-ray" if not with_ray else "the ray extra is not installed"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    compare_runs(runs)
    compute = runs[0]["per_asset_compute_s"]  # 1 worker: no contention between workers
    write = statistics.median(r["per_asset_write_s"] for r in runs)
    projections = [project(compute, write, w) for w in (10, 100)]
    metrics = {"local1_assets_per_s": runs[0]["assets_per_s"], "local2_assets_per_s": runs[1]["assets_per_s"],
               "local2_scaling_efficiency": runs[1]["scaling_efficiency"],
               "local2_steady_scaling_efficiency": runs[1]["steady_scaling_efficiency"],
               "ray2_assets_per_s": runs[2]["assets_per_s"] if len(runs) > 2 else None,
               "ray2_scaling_efficiency": runs[2]["scaling_efficiency"] if len(runs) > 2 else None,
               "ray2_steady_scaling_efficiency": runs[2]["steady_scaling_efficiency"] if len(runs) > 2 else None,
               "ray2_startup_s": runs[2]["startup_s"] if len(runs) > 2 else None,
               "per_asset_compute_s": compute, "per_asset_write_s": write,
               "bad_assets": sum(r["errors"] for r in runs),
               "projected_10_workers_assets_per_s": projections[0]["assets_per_s"],
               "projected_100_workers_assets_per_s": projections[1]["assets_per_s"]}
    assumptions = [
        "each worker has its own core and the per-asset compute cost measured with 1 local worker (median shard"
        " compute / shard size: steady state; each worker also pays a one-off start-up, see startup_s)",
        "shards are balanced and many more than workers; Ray task overhead (ms) is ignored",
        "store writes stay serial in the driver (one transaction per shard; the audit hash chain serialises"
        " appends on SQLite and PostgreSQL alike) at the measured per-asset write cost on this store",
        "blob reads scale with the workers (object store or shared filesystem; not measured here)",
        "this run's machine is shared: compute costs here are upper bounds",
    ]
    if any(r["errors"] for r in runs):
        notes.append(f"{sum(r['errors'] for r in runs)} bad assets over the runs (see runs[].errors): throughput"
                     " counts the assets written, not those that failed")
    return BenchResult(
        benchmark="scale", dataset=f"linked sample ({n_assets} assets)" if workspace is None else str(workspace),
        split="all assets", seed=seed, metrics=metrics, wall_s=time.perf_counter() - t0,
        extra={"runs": runs, "projections": projections, "assumptions": assumptions, "shard_size": shard_size,
               "extractors": list(extractors), "fusion": fusion, "notes": notes},
    )
