"""The driver's store write of one shard: its predictions (or file output) and its done marker in one transaction.

A prediction already stored (same deterministic id) is skipped, and so is a done marker already stored
(``grade``, ``extract``), so overlapping runs never write twice; a connection lost mid-transaction is
retried on a fresh one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError as SAError

from assetgrade.batch.assignment import SHARD_SCHEME
from assetgrade.batch.outputs import write_audit, write_features
from assetgrade.batch.shards import SHARD_EVENT, ShardResult, prediction_id
from assetgrade.errors import StoreError
from assetgrade.grading.recording import decision_event_payload
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.results import advance_heads
from assetgrade.store.schema import AuditEvent, Prediction

__all__ = ["COMMIT_RETRIES", "commit_shard", "write_grades"]

COMMIT_RETRIES = 2
"""How often a shard's write is tried again after its database connection was lost mid-transaction."""


def write_grades(s: Any, res: ShardResult, model_version: str) -> tuple[int, int]:
    """Store a shard's grade results as predictions (with their audit events) in session ``s``; (written, skipped)."""
    written = skipped = 0
    ids = {r.asset_id: prediction_id(r.asset_id, model_version, str(r.versions.get("inputs", ""))) for r in
           res.results}
    # the ids already stored are read under the lock: an overlapping run's commit of the same ids lands
    # before this read or waits for this transaction, so an id it stored is skipped, never inserted twice
    lock_chain(s)
    have = set(s.scalars(select(Prediction.id).where(Prediction.id.in_(list(ids.values())))))
    new_preds: list[Prediction] = []
    for r in res.results:
        pid = ids[r.asset_id]
        if pid in have:
            skipped += 1
            continue
        pred = Prediction(id=pid, asset_id=r.asset_id, model_version=model_version, grade=r.grade,
                          distribution={k: float(v) for k, v in r.probabilities.items()},
                          conformal_set=list(r.conformal_set), decision=r.decision,
                          expected_cost=None if r.expected_cost is None else float(r.expected_cost),
                          payload=r.to_dict())
        s.add(pred)
        append_event(s, actor="batch", action="prediction.add", entity="prediction", entity_id=pid,
                     payload={"asset_id": r.asset_id, "model_version": model_version, "grade": r.grade,
                              "decision": r.decision})
        append_event(s, actor="batch", action="grade.decision", entity="prediction", entity_id=pid,
                     payload=decision_event_payload(r, model_version))
        new_preds.append(pred)
        have.add(pid)
        written += 1
    advance_heads(s, new_preds)
    return written, skipped


def _marked(s: Any, key: str) -> bool:
    """Whether shard ``key``'s done marker is stored, read under the chain's write lock: a run overlapping another
    that committed the same shard first (both planned it before either wrote it) does not mark it a second time."""
    lock_chain(s)
    q = select(AuditEvent.seq).where(AuditEvent.action == SHARD_EVENT, AuditEvent.entity_id == key).limit(1)
    return s.scalar(q) is not None


def commit_shard(ws: Any, res: ShardResult, kind: str, model_version: str | None) -> tuple[int, int, str | None]:
    """Write one shard's results and its done marker in one transaction."""
    output: str | None = None
    written = skipped = 0
    if kind == "extract" and res.results:
        p, written = write_features(ws, res, str(model_version))
        output = str(p)
    elif kind == "audit" and res.results:
        p, written = write_audit(ws, res)
        output = str(p)
    for attempt in range(1 + COMMIT_RETRIES):
        try:
            with ws.session() as s:
                if kind == "grade":
                    written, skipped = write_grades(s, res, str(model_version))
                if not res.errors and (kind == "audit" or not _marked(s, res.task.key)):
                    append_event(s, actor="batch", action=SHARD_EVENT, entity="batch_shard",
                                 entity_id=res.task.key,
                                 payload={"kind": kind, "scheme": SHARD_SCHEME, "model_version": model_version,
                                          "index": res.task.index,
                                          "assets": len(res.task.asset_ids), "written": written,
                                          "skipped_existing": skipped, "output": output})
            break
        except OperationalError as exc:
            # a connection lost mid-transaction (a PostgreSQL restart, a network drop): the transaction is gone whole,
            # so the shard is written again on a fresh connection (ids already stored are skipped, as on a rerun)
            if exc.connection_invalidated and attempt < COMMIT_RETRIES:
                continue
            raise StoreError(f"cannot write shard {res.task.index} ({res.task.key}) to the store: {exc.orig}") \
                from exc
        except SAError as exc:
            raise StoreError(f"store write of shard {res.task.index} ({res.task.key}) failed: {exc}") from exc
    return written, skipped, output
