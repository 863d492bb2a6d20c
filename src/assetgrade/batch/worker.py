"""The worker side of a batch: open the workspace and model once per process, compute one shard.

A shard's results are computed here and written by the driver (:mod:`assetgrade.batch.commit`);
a bad asset (unreadable blob, extractor error, unexpected exception) is reported with its id and
the rest of the shard is still computed.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError as SAError

from assetgrade.batch.shards import ShardResult, ShardTask
from assetgrade.errors import AssetgradeError, ConflictError, NotFoundError, StoreError, ValidationError, unexpected
from assetgrade.store.schema import Asset, Evidence

__all__ = ["run_shard"]

_WS_CACHE: dict[tuple[str, str], Any] = {}
_MODEL_CACHE: dict[str, Any] = {}


def _worker_ws(task: ShardTask) -> Any:
    from assetgrade.workspace import Workspace

    key = (task.workspace, task.store_url)
    if key not in _WS_CACHE:
        ws = Workspace.open(task.workspace, task.store_url, check_schema=False)
        # every blob a batch reads is re-hashed (whatever verify_blobs_on_read says): a damaged blob that still
        # decodes would otherwise be graded or extracted as if it were the evidence its sha256 names
        ws.blobs.verify_on_read = True
        _WS_CACHE[key] = ws
    return _WS_CACHE[key]


def _worker_model(path: str, version: str | None = None) -> Any:
    """The grader saved at ``path`` (loaded once per process), checked to be ``version`` when given.

    Raises ConflictError when the folder now holds another model: results computed with it would be
    stored under the batch's version, which names the model the run started with. The folder's
    ``bundle.json`` is read first, so a replaced model is refused without unpickling it for every shard.
    """
    model = _MODEL_CACHE.get(path)
    if model is not None and (version is None or getattr(model, "version_", None) == version):
        return model

    def replaced(have: object) -> ConflictError:
        return ConflictError(f"the model at {path} is now version {have}, but this batch grades with {version} "
                             "(it was replaced during the run, e.g. by a promotion); run the batch again")

    if version is not None:
        from assetgrade.grading.bundle import read_bundle_info

        described = read_bundle_info(Path(path)).get("model_version")
        if described != version:
            raise replaced(described)
    from assetgrade.grader import Grader

    model = _MODEL_CACHE[path] = Grader.load(Path(path))
    if version is not None and getattr(model, "version_", None) != version:  # swapped between the two reads
        raise replaced(getattr(model, "version_", None))
    return model


def _store_read_error(exc: SAError, what: str) -> StoreError:
    """A database error while a worker reads (a connection dropped, a damaged SQLite file) as a StoreError."""
    return StoreError(f"cannot read {what} from the store: {getattr(exc, 'orig', None) or exc}")


def _load_each(ws: Any, ids: Sequence[str], errors: list[tuple[str, str]], outcome: str) -> list[Any]:
    """Load the shard's records; on a failure, one by one so a bad asset does not sink the rest.

    A database error (a PostgreSQL connection dropped mid-read) is reported per asset like any
    other failure: the shard stays unmarked and the next run retries it, the other shards go on.
    So is an unexpected exception from one asset's stored data (a log whose ``cost`` is "n/a"
    raises ValueError), with its type and line and ``outcome`` ("not graded").
    """
    from assetgrade.store.loading import load_records

    try:
        return load_records(ws, list(ids))
    except MemoryError:
        raise
    except Exception:
        out = []
        for aid in ids:
            try:
                out += load_records(ws, [aid])
            except AssetgradeError as exc:
                errors.append((aid, str(exc)))
            except SAError as exc:
                errors.append((aid, str(_store_read_error(exc, f"asset {aid!r}"))))
            except MemoryError:
                raise
            except Exception as exc:  # stored data no check foresaw: this asset only
                errors.append((aid, unexpected(exc, outcome)))
        return out


def _audit_asset(ws: Any, asset_id: str) -> dict[str, Any]:
    """Per-asset integrity checks: every blob present and matching its sha256; images decodable."""
    from PIL import Image

    from assetgrade.audit.images import image_stats
    from assetgrade.store.blobs import sha256_bytes

    problems: list[str] = []
    n = 0
    with ws.session(readonly=True) as s:
        if s.get(Asset, asset_id) is None:  # no evidence is no problem only for an asset the store holds
            raise NotFoundError(f"asset not found: {asset_id}")
        items = list(s.execute(select(Evidence.id, Evidence.kind, Evidence.blob_sha)
                               .where(Evidence.asset_id == asset_id).order_by(Evidence.id)))
    for ev_id, kind, blob_sha in items:
        n += 1
        if blob_sha is None:
            continue
        try:
            data = ws.blobs.get_bytes(blob_sha, verify=False)
        except AssetgradeError as exc:
            problems.append(f"{ev_id}: {exc}")
            continue
        if sha256_bytes(data) != blob_sha:
            problems.append(f"{ev_id}: blob {blob_sha} is corrupt (content hash differs)")
            continue
        if kind == "image":
            try:
                with Image.open(io.BytesIO(data)) as img:
                    stats = image_stats(img.convert("RGB"))
                if not np.all(np.isfinite(stats)):
                    problems.append(f"{ev_id}: image statistics are not finite")
            except Exception as exc:  # PIL raises many types for a bad image
                problems.append(f"{ev_id}: image cannot be decoded ({type(exc).__name__}: {exc})")
    return {"asset_id": asset_id, "evidence": n, "problems": problems}


def run_shard(task: ShardTask) -> ShardResult:
    """Compute one shard (runs in a worker): grade results, evidence blocks or audit rows."""
    t0 = time.perf_counter()
    out = ShardResult(task=task, pid=os.getpid())
    ws = _worker_ws(task)
    if task.kind == "audit":
        for aid in task.asset_ids:
            try:
                row = _audit_asset(ws, aid)
            except AssetgradeError as exc:
                out.errors.append((aid, str(exc)))
                continue
            except SAError as exc:
                out.errors.append((aid, str(_store_read_error(exc, f"the evidence of asset {aid!r}"))))
                continue
            except MemoryError:
                raise
            except Exception as exc:  # a blob backend's own error, data no check foresaw: this asset only
                out.errors.append((aid, unexpected(exc, "not audited")))
                continue
            out.results.append(row)
            out.errors += [(aid, problem) for problem in row["problems"]]  # a bad item: the shard stays unmarked
    else:
        if task.model_path is None:
            raise ValidationError(f"batch {task.kind} needs a trained model", where="--model")
        try:
            model = _worker_model(task.model_path, task.model_version)
        except ConflictError as exc:  # every asset reported; the shard stays unmarked for the rerun
            out.errors += [(aid, str(exc)) for aid in task.asset_ids]
            out.compute_s = time.perf_counter() - t0
            return out
        done = "not graded" if task.kind == "grade" else "not extracted"
        records = _load_each(ws, task.asset_ids, out.errors, done)
        if records:
            whole: list[tuple[str, str]] = []  # kept only if the whole shard goes through: the asset-by-asset
            try:                              # retry below reports each bad asset again, so it would count twice
                out.results = _compute(model, task.kind, records, whole)
                out.errors += whole
            except MemoryError:
                raise
            except Exception:  # isolate the bad asset(s); the others of the shard are still written
                for rec in records:
                    try:
                        out.results += _compute(model, task.kind, [rec], out.errors)
                    except AssetgradeError as exc:
                        out.errors.append((rec.asset_id, str(exc)))
                    except MemoryError:
                        raise
                    except Exception as exc:
                        out.errors.append((rec.asset_id, unexpected(exc, done)))
    out.compute_s = time.perf_counter() - t0
    return out


def _unreadable(blocks: Sequence[Any]) -> dict[str, list[str]]:
    """Per asset some of whose evidence could not be read (a blob lost or corrupt): what each extractor said."""
    said: dict[str, list[str]] = {}
    for b in blocks:
        for aid in sorted(b.unreadable):
            flags = list(b.quality_flags.get(aid, []))
            gone = [f.split(":", 1)[1] for f in flags if f.startswith("unreadable:")]  # vision: the evidence ids
            said.setdefault(aid, []).append(f"{b.modality} evidence {', '.join(gone)}" if gone
                                            else f"{b.modality} evidence: {'; '.join(flags) or 'unreadable'}")
    return said


def _compute(model: Any, kind: str, records: Sequence[Any], errors: list[tuple[str, str]]) -> list[Any]:
    """Grade results or evidence blocks of ``records``; an asset with evidence that could not be read is
    reported in ``errors`` (id and evidence id) and left out, so no degraded grade or feature row of it is
    stored as if complete (its shard stays unmarked; the next run reads the repaired blob)."""
    blocks = model.evidence(records)
    bad = _unreadable(blocks)
    done = "graded" if kind == "grade" else "extracted"
    for aid, what in bad.items():
        errors.append((aid, f"cannot read {'; '.join(what)} (a lost or corrupt blob): not {done}"))
    good = [r for r in records if r.asset_id not in bad]
    if kind == "grade":
        return list(model.grade_many(good))  # the evidence rows just computed are served from the model's cache
    if bad:
        blocks = model.evidence(good) if good else []
    return list(blocks)
