"""Planning a batch: shards of asset ids by id hash (stable as assets come and go), keyed by evidence hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, select

from assetgrade.batch.assignment import SHARD_SCHEME, cut_shards
from assetgrade.batch.shards import SHARD_EVENT
from assetgrade.errors import ValidationError
from assetgrade.store.schema import Asset, AuditEvent, Evidence
from assetgrade.store.withdrawals import not_withdrawn

__all__ = ["asset_inputs", "plan_shards", "shard_key"]


def asset_inputs(evidence_sha256: Sequence[str]) -> str:
    """One asset's input hash: the sha256 of its evidence items' sha256 in evidence-id order (32 hex digits)."""
    return hashlib.sha256(",".join(evidence_sha256).encode()).hexdigest()[:32]


def evidence_by_asset(s: Any, asset_ids: Sequence[str] | None) -> Iterator[tuple[str, list[str]]]:
    """(asset id, its evidence sha256 in id order) per asset, streamed in the store's asset-id order.

    Withdrawn evidence is left out, as :func:`~assetgrade.store.loading.load_records` leaves it out of what is graded.

    One query over assets joined to their evidence, read in batches, so planning holds one asset's
    evidence at a time rather than every evidence hash of the store (millions of rows at scale).
    """
    if asset_ids is not None:  # the caller's ids, sorted and each once (a repeated id would be graded twice)
        ids = sorted(set(asset_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            ev: dict[str, list[str]] = {a: [] for a in chunk}
            for aid, sha in s.execute(select(Evidence.asset_id, Evidence.sha256)
                                      .where(Evidence.asset_id.in_(chunk), not_withdrawn())
                                      .order_by(Evidence.asset_id, Evidence.id)):
                ev[aid].append(sha)
            yield from ((a, ev[a]) for a in chunk)
        return
    q = (select(Asset.id, Evidence.sha256).outerjoin(Evidence, and_(Evidence.asset_id == Asset.id, not_withdrawn()))
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


def shard_key(kind: str, model_version: str | None, asset_ids: Sequence[str], inputs: Sequence[str]) -> str:
    """A shard's key: ``kind:`` + sha256(scheme, kind, model version, each asset id and its input hash)[:40].

    The scheme (:data:`~assetgrade.batch.assignment.SHARD_SCHEME`) is hashed in, so no done marker of
    another scheme (one written by fixed-count shards) ever carries a key of this one.
    """
    h = hashlib.sha256(f"{SHARD_SCHEME}\x00{kind}\x00{model_version}".encode())
    for aid, inp in zip(asset_ids, inputs, strict=True):
        h.update(f"\x00{aid}\x01{inp}".encode())
    return f"{kind}:{h.hexdigest()[:40]}"


def plan_with_inputs(ws: Any, kind: str, *, model_version: str | None, shard_size: int,
                     asset_ids: Sequence[str] | None = None) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(shard key, asset ids, per-asset input hashes) of every shard (see :func:`plan_shards`)."""
    if shard_size < 1:
        raise ValidationError(f"shard_size={shard_size} must be >= 1", where="--shard-size")
    with ws.session(readonly=True) as s:
        inputs = {aid: asset_inputs(shas) for aid, shas in evidence_by_asset(s, asset_ids)}
    plan: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for ids in cut_shards(inputs, shard_size):
        hashes = tuple(inputs[a] for a in ids)
        plan.append((shard_key(kind, model_version, ids, hashes), ids, hashes))
    return plan


def plan_shards(ws: Any, kind: str, *, model_version: str | None, shard_size: int,
                asset_ids: Sequence[str] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(shard key, asset ids) of every shard: the assets cut by :func:`~assetgrade.batch.assignment.cut_shards`
    into shards of at most ``shard_size``, keyed by :func:`shard_key` from their evidence hashes."""
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
