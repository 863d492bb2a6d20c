"""Planning a batch: shards of sorted asset ids keyed by their evidence hashes, and which are already done."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from assetgrade.batch.shards import SHARD_EVENT
from assetgrade.errors import ValidationError
from assetgrade.store.schema import Asset, AuditEvent, Evidence

__all__ = ["asset_inputs", "plan_shards"]


def asset_inputs(evidence_sha256: Sequence[str]) -> str:
    """One asset's input hash: the sha256 of its evidence items' sha256 in evidence-id order (32 hex digits)."""
    return hashlib.sha256(",".join(evidence_sha256).encode()).hexdigest()[:32]


def evidence_by_asset(s: Any, asset_ids: Sequence[str] | None) -> Iterator[tuple[str, list[str]]]:
    """(asset id, its evidence sha256 in id order) per asset, streamed in the store's asset-id order.

    One query over assets joined to their evidence, read in batches, so planning holds one asset's
    evidence at a time rather than every evidence hash of the store (millions of rows at scale).
    """
    if asset_ids is not None:  # the caller's ids, sorted and each once (a repeated id would be graded twice)
        ids = sorted(set(asset_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            ev: dict[str, list[str]] = {a: [] for a in chunk}
            for aid, sha in s.execute(select(Evidence.asset_id, Evidence.sha256).where(Evidence.asset_id.in_(chunk))
                                      .order_by(Evidence.asset_id, Evidence.id)):
                ev[aid].append(sha)
            yield from ((a, ev[a]) for a in chunk)
        return
    q = (select(Asset.id, Evidence.sha256).outerjoin(Evidence, Evidence.asset_id == Asset.id)
         .order_by(Asset.id, Evidence.id).execution_options(yield_per=2000))
    current: str | None = None
    shas: list[str] = []
    for aid, sha in s.execute(q):
        if aid != current:
            if current is not None:
                yield current, shas
            current, shas = aid, []
        if sha is not None:
            shas.append(sha)
    if current is not None:
        yield current, shas


def plan_with_inputs(ws: Any, kind: str, *, model_version: str | None, shard_size: int,
                     asset_ids: Sequence[str] | None = None) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(shard key, asset ids, per-asset input hashes) of every shard (see :func:`plan_shards`)."""
    if shard_size < 1:
        raise ValidationError(f"shard_size={shard_size} must be >= 1", where="--shard-size")
    shards: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    chunk: list[str] = []
    inputs: list[str] = []
    h = hashlib.sha256(f"{kind}\x00{model_version}".encode())

    def close() -> None:
        nonlocal h
        shards.append((f"{kind}:{h.hexdigest()[:40]}", tuple(chunk), tuple(inputs)))
        chunk.clear()
        inputs.clear()
        h = hashlib.sha256(f"{kind}\x00{model_version}".encode())

    with ws.session(readonly=True) as s:
        for aid, shas in evidence_by_asset(s, asset_ids):
            h.update(f"\x00{aid}\x01{','.join(shas)}".encode())
            chunk.append(aid)
            inputs.append(asset_inputs(shas))
            if len(chunk) == shard_size:
                close()
    if chunk:
        close()
    return shards


def plan_shards(ws: Any, kind: str, *, model_version: str | None, shard_size: int,
                asset_ids: Sequence[str] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(shard key, asset ids) of every shard, from the sorted asset ids and their evidence hashes."""
    plan = plan_with_inputs(ws, kind, model_version=model_version, shard_size=shard_size, asset_ids=asset_ids)
    return [(key, ids) for key, ids, _ in plan]


def done_keys(ws: Any, keys: Sequence[str]) -> set[str]:
    """The shard keys among ``keys`` whose ``batch.shard_done`` event is stored."""
    done: set[str] = set()
    with ws.session(readonly=True) as s:
        for i in range(0, len(keys), 500):
            q = select(AuditEvent.entity_id).where(AuditEvent.action == SHARD_EVENT,
                                                   AuditEvent.entity_id.in_(keys[i:i + 500]))
            done |= {str(k) for k in s.scalars(q)}
    return done
