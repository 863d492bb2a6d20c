"""Batch jobs over a whole workspace: feature extraction, grading and audits, sharded by asset ids.

A job cuts the asset ids into shards of at most ``shard_size`` by the sha256 of each id
(:mod:`~assetgrade.batch.assignment`: leaves of a hash trie), so an asset added or removed changes
only the shard it falls in. Each shard has a key, the sha256 of (shard scheme, job kind, model
version, its asset ids, the sha256 of every evidence item of those assets), so a shard whose inputs
changed is a new shard and every other shard keeps its key and its done marker. Workers (any :class:`Executor`) compute;
the driver writes each shard's results back in **one store transaction** together with a
``batch.shard_done`` audit event carrying the shard key. Hence:

* a killed worker leaves nothing behind (its shard was never written) and is run again;
* a rerun skips the shards whose ``batch.shard_done`` event exists (resume);
* a prediction's id is ``pred_`` + sha256(asset id, model version, input hash)[:40], and an id
  already stored is skipped, so nothing is ever written twice even if two runs overlap;
* file outputs (features, audit rows) are written to a temp file and renamed; a full disk
  raises :class:`StoreError` naming the file, and the shard is simply not marked done.

A shard with a bad asset (unreadable blob, extractor error, even an unexpected exception from an
extractor, reported with its type and the line that raised it) still writes its good assets; the
bad ones are reported and the shard is left unmarked so the next run tries them again. An audit
reports every problem it finds (asset id and problem) as a bad asset and never skips a shard: its
``batch.shard_done`` events record which shards were found clean, not work to skip.

The parts live in one module each: :mod:`~assetgrade.batch.shards` (tasks, results, report,
prediction ids), :mod:`~assetgrade.batch.assignment` (which asset goes in which shard),
:mod:`~assetgrade.batch.planning` (shards and their keys),
:mod:`~assetgrade.batch.worker` (computing a shard), :mod:`~assetgrade.batch.outputs` (feature
and audit files) and :mod:`~assetgrade.batch.commit` (the store write); this module runs a job
and is the public import path for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assetgrade.batch.commit import commit_shard
from assetgrade.batch.executor import Executor
from assetgrade.batch.outputs import feature_file, features_dir, read_features
from assetgrade.batch.planning import asset_inputs, done_keys, plan_shards, plan_with_inputs
from assetgrade.batch.shards import JOB_KINDS, SHARD_EVENT, BatchReport, ShardResult, ShardTask, prediction_id
from assetgrade.batch.worker import run_shard
from assetgrade.errors import NotFoundError, ValidationError

__all__ = ["JOB_KINDS", "SHARD_EVENT", "BatchReport", "ShardResult", "ShardTask", "asset_inputs", "features_dir",
           "plan_shards", "prediction_id", "read_features", "run_batch", "run_shard"]

Progress = Callable[[int, int], None]


def run_batch(
    ws: Any, kind: str, executor: Executor, *, model_path: Path | str | None = None, shard_size: int = 64,
    asset_ids: Sequence[str] | None = None, progress: Progress | None = None,
) -> BatchReport:
    """Run ``kind`` ("extract", "grade" or "audit") over the workspace's assets; resumable and idempotent.

    Examples
    --------
    >>> from assetgrade.batch.local_executor import LocalExecutor      # doctest: +SKIP
    >>> with LocalExecutor(2) as ex:                                   # doctest: +SKIP
    ...     rep = run_batch(ws, "grade", ex, model_path=ws.models_dir / "grader")
    >>> rep.written, rep.shards_skipped                                # doctest: +SKIP
    (150, 0)
    """
    if kind not in JOB_KINDS:
        raise ValidationError(f"unknown batch job {kind!r}: use one of {', '.join(JOB_KINDS)}", where="batch")
    t0 = time.perf_counter()
    model_version: str | None = None
    mpath: str | None = None
    if kind != "audit":
        from assetgrade.grading.bundle import read_bundle_info

        mp = Path(model_path) if model_path is not None else Path(ws.models_dir) / "grader"
        try:
            model_version = str(read_bundle_info(mp)["model_version"])
        except NotFoundError as exc:
            if model_path is not None:
                raise  # another folder: not "train first"
            from assetgrade.review.suggest import no_grader_error

            raise no_grader_error(ws, exc) from exc  # what to label first while train cannot run, as the CLI says
        mpath = str(mp.resolve())
    plan = plan_with_inputs(ws, kind, model_version=model_version, shard_size=shard_size, asset_ids=asset_ids)
    shards = [(k, a) for k, a, _ in plan]
    # an audit re-reads the blobs every time: its shard key only hashes what the store says they hold, so a
    # blob damaged after an earlier clean audit would otherwise never be looked at again
    done = set() if kind == "audit" else done_keys(ws, [k for k, _ in shards])
    if kind == "extract":  # a marker stands for its feature file: a file deleted since (a cleared cache) is redone
        done = {k for k in done if feature_file(ws, str(model_version), k).exists()}
    rep = BatchReport(kind=kind, model_version=model_version, n_assets=sum(len(a) for _, a in shards),
                      n_shards=len(shards), shards_skipped=len(done))
    tasks = [ShardTask(kind=kind, index=i, key=k, asset_ids=a, workspace=str(ws.path), store_url=ws.store_url,
                       model_path=mpath, inputs=h if kind == "extract" else (), model_version=model_version)
             for i, (k, a, h) in enumerate(plan) if k not in done]
    if progress:
        progress(rep.shards_skipped, rep.n_shards)
    for res in executor.map_shards(run_shard, tasks):
        tw = time.perf_counter()
        written, skipped, output = commit_shard(ws, res, kind, model_version)
        rep.write_s.append(time.perf_counter() - tw)
        rep.compute_s.append(res.compute_s)
        rep.shard_assets.append(len(res.task.asset_ids))
        rep.written += written
        rep.skipped_existing += skipped
        rep.errors += res.errors
        rep.shards_done += 1
        if output:
            rep.outputs.append(output)
        if progress:
            progress(rep.shards_skipped + rep.shards_done, rep.n_shards)
    rep.wall_s = time.perf_counter() - t0
    return rep
