"""Batch work over a whole workspace (extract, grade, audit) on a local process pool or on Ray."""

from assetgrade.batch.executor import Executor, LocalExecutor, RayExecutor, make_executor, ray_available
from assetgrade.batch.jobs import BatchReport, plan_shards, prediction_id, read_features, run_batch

__all__ = ["BatchReport", "Executor", "LocalExecutor", "RayExecutor", "make_executor", "plan_shards",
           "prediction_id", "ray_available", "read_features", "run_batch"]
