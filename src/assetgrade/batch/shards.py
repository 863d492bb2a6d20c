"""What a batch job passes around: the job kinds, shard tasks and results, the run's report, prediction ids."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["JOB_KINDS", "SHARD_EVENT", "BatchReport", "ShardResult", "ShardTask", "prediction_id"]

JobKind = Literal["extract", "grade", "audit"]
JOB_KINDS: tuple[str, ...] = ("extract", "grade", "audit")
SHARD_EVENT = "batch.shard_done"


def prediction_id(asset_id: str, model_version: str, inputs_hash: str) -> str:
    """The deterministic id of one asset's prediction by one model on one set of inputs."""
    h = hashlib.sha256(f"{asset_id}\x00{model_version}\x00{inputs_hash}".encode()).hexdigest()
    return f"pred_{h[:40]}"


@dataclass(frozen=True)
class ShardTask:
    """What a worker needs to run one shard (picklable; no open handles)."""

    kind: str
    index: int
    key: str
    asset_ids: tuple[str, ...]
    workspace: str
    store_url: str
    model_path: str | None
    inputs: tuple[str, ...] = ()
    """``extract``: each asset's :func:`asset_inputs` hash at planning time, aligned with ``asset_ids``."""
    model_version: str | None = None
    """The version the driver read at the start and stamps on every result; a worker whose loaded model
    is another one (a promotion replaced ``model_path`` mid-run) computes nothing for the shard."""

    def __str__(self) -> str:
        ids = self.asset_ids
        return f"shard {self.index} ({ids[0] if len(ids) == 1 else f'{len(ids)} assets'})"

    def split(self) -> tuple[ShardTask, ShardTask] | tuple[()]:
        """The shard's two halves by asset (same key and index), or ``()`` for a shard of one asset.

        The executors split a shard whose worker process died when it ran alone, until the asset(s)
        that kill their worker are found (:class:`assetgrade.batch.isolation.Divisible`).
        """
        if len(self.asset_ids) < 2:
            return ()
        mid = len(self.asset_ids) // 2
        return (dataclasses.replace(self, asset_ids=self.asset_ids[:mid], inputs=self.inputs[:mid]),
                dataclasses.replace(self, asset_ids=self.asset_ids[mid:], inputs=self.inputs[mid:]))

    def merge(self, parts: Sequence[ShardResult]) -> ShardResult:
        """This shard's result from the results of its parts (every part's results and errors)."""
        return ShardResult(task=self, results=[r for p in parts for r in p.results],
                           errors=[e for p in parts for e in p.errors], compute_s=sum(p.compute_s for p in parts),
                           pid=parts[-1].pid if parts else 0)

    def died(self, how: str) -> ShardResult:
        """The result of a part whose worker process died running it alone: each of its assets is a bad asset."""
        doing = {"grade": "grading", "extract": "extracting", "audit": "auditing"}.get(self.kind, self.kind)
        return ShardResult(task=self, errors=[(a, f"worker process died while {doing} asset {a}: {how}")
                                              for a in self.asset_ids])


@dataclass
class ShardResult:
    """A worker's output for one shard: per-asset results, per-asset errors, timings."""

    task: ShardTask
    results: list[Any] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    compute_s: float = 0.0
    pid: int = 0


@dataclass
class BatchReport:
    """How a batch run went: shards done/skipped, rows written/already there, bad assets, timings."""

    kind: str
    model_version: str | None
    n_assets: int
    n_shards: int
    shards_done: int = 0
    shards_skipped: int = 0
    written: int = 0
    skipped_existing: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    wall_s: float = 0.0
    compute_s: list[float] = field(default_factory=list)
    write_s: list[float] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    shard_assets: list[int] = field(default_factory=list)
    """Assets in each computed shard, in the order of ``compute_s`` (shards hold up to the shard size)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"kind": self.kind, "model_version": self.model_version, "n_assets": self.n_assets,
                "n_shards": self.n_shards, "shards_done": self.shards_done, "shards_skipped": self.shards_skipped,
                "written": self.written, "skipped_existing": self.skipped_existing,
                "errors": [{"asset_id": a, "error": e} for a, e in self.errors], "wall_s": round(self.wall_s, 3),
                "compute_s_total": round(sum(self.compute_s), 3), "write_s_total": round(sum(self.write_s), 3),
                "outputs": self.outputs}
