"""Batch jobs over a whole workspace: feature extraction, grading and audits, sharded by asset ids.

A job splits the sorted asset ids into shards of ``shard_size``. Each shard has a key, the
sha256 of (job kind, model version, its asset ids, the sha256 of every evidence item of those
assets), so a shard whose inputs changed is a new shard. Workers (any :class:`Executor`) compute;
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
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError as SAError

from assetgrade.batch.executor import Executor
from assetgrade.errors import AssetgradeError, ConflictError, StoreError, ValidationError, unexpected
from assetgrade.store.audit import append_event, lock_chain
from assetgrade.store.results import advance_heads
from assetgrade.store.schema import Asset, AuditEvent, Evidence, Prediction

__all__ = ["JOB_KINDS", "SHARD_EVENT", "BatchReport", "ShardResult", "ShardTask", "asset_inputs", "plan_shards",
           "prediction_id", "read_features", "run_batch", "run_shard"]

JobKind = Literal["extract", "grade", "audit"]
JOB_KINDS: tuple[str, ...] = ("extract", "grade", "audit")
SHARD_EVENT = "batch.shard_done"
COMMIT_RETRIES = 2
"""How often a shard's write is tried again after its database connection was lost mid-transaction."""
Progress = Callable[[int, int], None]


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"kind": self.kind, "model_version": self.model_version, "n_assets": self.n_assets,
                "n_shards": self.n_shards, "shards_done": self.shards_done, "shards_skipped": self.shards_skipped,
                "written": self.written, "skipped_existing": self.skipped_existing,
                "errors": [{"asset_id": a, "error": e} for a, e in self.errors], "wall_s": round(self.wall_s, 3),
                "compute_s_total": round(sum(self.compute_s), 3), "write_s_total": round(sum(self.write_s), 3),
                "outputs": self.outputs}


# ---- worker side ------------------------------------------------------------------------------------
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


def _load_each(ws: Any, ids: Sequence[str], errors: list[tuple[str, str]]) -> list[Any]:
    """Load the shard's records; on a failure, one by one so a bad asset does not sink the rest.

    A database error (a PostgreSQL connection dropped mid-read) is reported per asset like any
    other failure: the shard stays unmarked and the next run retries it, the other shards go on.
    """
    from assetgrade.store.loading import load_records

    try:
        return load_records(ws, list(ids))
    except (AssetgradeError, SAError):
        out = []
        for aid in ids:
            try:
                out += load_records(ws, [aid])
            except AssetgradeError as exc:
                errors.append((aid, str(exc)))
            except SAError as exc:
                errors.append((aid, str(_store_read_error(exc, f"asset {aid!r}"))))
        return out


def _audit_asset(ws: Any, asset_id: str) -> dict[str, Any]:
    """Per-asset integrity checks: every blob present and matching its sha256; images decodable."""
    from PIL import Image

    from assetgrade.audit.images import image_stats
    from assetgrade.store.blobs import sha256_bytes

    problems: list[str] = []
    n = 0
    with ws.session(readonly=True) as s:
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
        records = _load_each(ws, task.asset_ids, out.errors)
        if records:
            try:
                out.results = _compute(model, task.kind, records, out.errors)
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
                        done = "not graded" if task.kind == "grade" else "not extracted"
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


# ---- planning ---------------------------------------------------------------------------------------
def asset_inputs(evidence_sha256: Sequence[str]) -> str:
    """One asset's input hash: the sha256 of its evidence items' sha256 in evidence-id order (32 hex digits)."""
    return hashlib.sha256(",".join(evidence_sha256).encode()).hexdigest()[:32]


def _evidence_by_asset(s: Any, asset_ids: Sequence[str] | None) -> Iterator[tuple[str, list[str]]]:
    """(asset id, its evidence sha256 in id order) per asset, streamed in the store's asset-id order.

    One query over assets joined to their evidence, read in batches, so planning holds one asset's
    evidence at a time rather than every evidence hash of the store (millions of rows at scale).
    """
    if asset_ids is not None:  # the caller's ids, sorted: looked up in chunks
        ids = sorted(asset_ids)
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


def _plan(ws: Any, kind: str, *, model_version: str | None, shard_size: int,
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
        for aid, shas in _evidence_by_asset(s, asset_ids):
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
    return [(key, ids) for key, ids, _ in _plan(ws, kind, model_version=model_version, shard_size=shard_size,
                                                 asset_ids=asset_ids)]


def _done_keys(ws: Any, keys: Sequence[str]) -> set[str]:
    done: set[str] = set()
    with ws.session(readonly=True) as s:
        for i in range(0, len(keys), 500):
            q = select(AuditEvent.entity_id).where(AuditEvent.action == SHARD_EVENT,
                                                   AuditEvent.entity_id.in_(keys[i:i + 500]))
            done |= {str(k) for k in s.scalars(q)}
    return done


# ---- driver-side writes -----------------------------------------------------------------------------
def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temp file in the same folder and rename; a full disk becomes a StoreError naming ``path``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write_grades(s: Any, res: ShardResult, model_version: str) -> tuple[int, int]:
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
                     payload={"asset_id": r.asset_id, "inputs_sha256": r.versions.get("inputs"),
                              "model_version": model_version, "ontology_version": r.versions.get("ontology"),
                              "code_version": r.versions.get("code"),
                              "training_manifest": r.versions.get("manifest"), "grade": r.grade,
                              "decision": r.decision, "conformal_set": list(r.conformal_set),
                              "expected_cost": r.expected_cost, "reasons": list(r.reasons)})
        new_preds.append(pred)
        have.add(pid)
        written += 1
    advance_heads(s, new_preds)
    return written, skipped


def features_dir(ws: Any, model_version: str) -> Path:
    """Where ``batch extract`` writes its per-shard feature files."""
    return Path(ws.cache_dir) / "features" / model_version


def _write_features(ws: Any, res: ShardResult, model_version: str) -> tuple[Path, int]:
    arrays: dict[str, Any] = {}
    ids: list[str] = []
    for block in res.results:
        m = block.modality
        arrays.setdefault(f"{m}__features", []).append(np.asarray(block.features, dtype=np.float32))
        arrays.setdefault(f"{m}__present", []).append(np.asarray(block.present, dtype=bool))
        arrays[f"{m}__names"] = np.array(block.feature_names, dtype=str)
        if m == res.results[0].modality:
            ids += list(block.asset_ids)
    merged = {k: (np.concatenate(v) if isinstance(v, list) else v) for k, v in arrays.items()}
    merged["asset_ids"] = np.array(ids, dtype=str)
    planned = dict(zip(res.task.asset_ids, res.task.inputs, strict=False))
    merged["asset_inputs"] = np.array([planned.get(a, "") for a in ids], dtype=str)
    path = features_dir(ws, model_version) / f"{res.task.key.split(':', 1)[1]}.npz"

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **merged)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())

    _atomic_write(path, write)
    return path, len(ids)


def _write_audit(ws: Any, res: ShardResult) -> tuple[Path, int]:
    path = Path(ws.cache_dir) / "batch-audit" / f"{res.task.key.split(':', 1)[1]}.json"
    body = json.dumps(res.results, sort_keys=True).encode()

    def write(tmp: Path) -> None:
        tmp.write_bytes(body)

    _atomic_write(path, write)
    return path, len(res.results)


def read_features(ws: Any, model_version: str) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """The current feature rows of ``model_version``: per modality (asset ids, features, present).

    Each asset appears once, from a file written for the evidence it has now: a row written before
    the asset's evidence changed (its shard got a new key, so a new file) or a second row from a run
    with another ``--shard-size`` is left out. Files written before rows carried their input hash
    fill in only assets that no current file covers.
    """
    with ws.session(readonly=True) as s:
        current = {aid: asset_inputs(shas) for aid, shas in _evidence_by_asset(s, None)}
    files = sorted(features_dir(ws, model_version).glob("*.npz"))
    out: dict[str, tuple[list[str], list[Any], list[Any]]] = {}
    seen: set[str] = set()
    for legacy in (False, True):
        for f in files:
            with np.load(f) as z:
                if ("asset_inputs" not in z.files) != legacy:
                    continue
                ids = [str(x) for x in z["asset_ids"]]
                hashes = [str(x) for x in z["asset_inputs"]] if not legacy else [None] * len(ids)
                keep = []
                for i, (aid, h) in enumerate(zip(ids, hashes, strict=True)):
                    if aid in current and aid not in seen and (legacy or h == current[aid]):
                        keep.append(i)
                        seen.add(aid)
                if not keep:
                    continue
                rows = np.asarray(keep, dtype=np.int64)
                for k in z.files:
                    if k.endswith("__features"):
                        m = k[: -len("__features")]
                        ent = out.setdefault(m, ([], [], []))
                        ent[0].extend(ids[i] for i in keep)
                        ent[1].append(z[k][rows])
                        ent[2].append(z[f"{m}__present"][rows])
    return {m: (ids, np.concatenate(x), np.concatenate(p)) for m, (ids, x, p) in out.items()}


def _commit_shard(ws: Any, res: ShardResult, kind: str, model_version: str | None) -> tuple[int, int, str | None]:
    """Write one shard's results and its done marker in one transaction."""
    output: str | None = None
    written = skipped = 0
    if kind == "extract" and res.results:
        p, written = _write_features(ws, res, str(model_version))
        output = str(p)
    elif kind == "audit" and res.results:
        p, written = _write_audit(ws, res)
        output = str(p)
    for attempt in range(1 + COMMIT_RETRIES):
        try:
            with ws.session() as s:
                if kind == "grade":
                    written, skipped = _write_grades(s, res, str(model_version))
                if not res.errors:
                    append_event(s, actor="batch", action=SHARD_EVENT, entity="batch_shard",
                                 entity_id=res.task.key,
                                 payload={"kind": kind, "model_version": model_version, "index": res.task.index,
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


def run_batch(
    ws: Any, kind: str, executor: Executor, *, model_path: Path | str | None = None, shard_size: int = 64,
    asset_ids: Sequence[str] | None = None, progress: Progress | None = None,
) -> BatchReport:
    """Run ``kind`` ("extract", "grade" or "audit") over the workspace's assets; resumable and idempotent.

    Examples
    --------
    >>> from assetgrade.batch.executor import LocalExecutor            # doctest: +SKIP
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
        model_version = str(read_bundle_info(mp)["model_version"])
        mpath = str(mp.resolve())
    plan = _plan(ws, kind, model_version=model_version, shard_size=shard_size, asset_ids=asset_ids)
    shards = [(k, a) for k, a, _ in plan]
    # an audit re-reads the blobs every time: its shard key only hashes what the store says they hold, so a
    # blob damaged after an earlier clean audit would otherwise never be looked at again
    done = set() if kind == "audit" else _done_keys(ws, [k for k, _ in shards])
    rep = BatchReport(kind=kind, model_version=model_version, n_assets=sum(len(a) for _, a in shards),
                      n_shards=len(shards), shards_skipped=len(done))
    tasks = [ShardTask(kind=kind, index=i, key=k, asset_ids=a, workspace=str(ws.path), store_url=ws.store_url,
                       model_path=mpath, inputs=h if kind == "extract" else (), model_version=model_version)
             for i, (k, a, h) in enumerate(plan) if k not in done]
    if progress:
        progress(rep.shards_skipped, rep.n_shards)
    for res in executor.map_shards(run_shard, tasks):
        tw = time.perf_counter()
        written, skipped, output = _commit_shard(ws, res, kind, model_version)
        rep.write_s.append(time.perf_counter() - tw)
        rep.compute_s.append(res.compute_s)
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
