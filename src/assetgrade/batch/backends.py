"""The executor a ``--backend`` names: ``local`` (a process pool) or ``ray`` (Ray tasks)."""

from __future__ import annotations

from pathlib import Path

from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.batch.ray_executor import RayExecutor
from assetgrade.errors import ValidationError

__all__ = ["make_executor"]


def make_executor(backend: str, *, workers: int | None = None, ray_address: str | None = None,
                  temp_dir: str | Path | None = None) -> LocalExecutor | RayExecutor:
    """The executor for ``--backend local|ray`` (Ray: MissingExtraError naming the extra when absent)."""
    if backend == "local":
        return LocalExecutor(workers)
    if backend == "ray":
        return RayExecutor(ray_address, num_workers=workers, temp_dir=temp_dir)
    raise ValidationError(f"unknown backend {backend!r}: use local or ray", where="--backend")
