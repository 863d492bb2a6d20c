"""Batch work over a whole workspace (extract, grade, audit) on a local process pool or on Ray."""

from assetgrade.batch.backends import make_executor
from assetgrade.batch.executor import Executor
from assetgrade.batch.jobs import BatchReport, plan_shards, prediction_id, read_features, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.batch.ray_executor import RayExecutor, ray_available

__all__ = ["BatchReport", "Executor", "LocalExecutor", "RayExecutor", "make_executor", "plan_shards",
           "prediction_id", "ray_available", "read_features", "run_batch"]
