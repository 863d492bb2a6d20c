"""A batch's file outputs: per-shard feature files (``batch extract``) and audit rows, written atomically.

Each file is written to a temp file in the same folder, flushed to disk and renamed (the rename is
flushed too); a full disk raises a StoreError naming the file. :func:`read_features` reads back the
rows that match each asset's current evidence.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assetgrade.batch.planning import asset_inputs, evidence_by_asset
from assetgrade.batch.shards import ShardResult
from assetgrade.errors import StoreError

__all__ = ["features_dir", "read_features"]


def _fsync(path: Path, *, folder: bool = False) -> None:
    """Flush ``path`` (a file, or a folder's entries) to disk; a folder that cannot be opened (Windows) is left."""
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temp file in the same folder and rename; a full disk becomes a StoreError naming ``path``.

    The temp file is flushed to disk before the rename and the folder after it, so after a crash or a
    power loss the final name holds the whole file or nothing (a shard's done marker is committed next).
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        _fsync(tmp)
        tmp.replace(path)
        _fsync(path.parent, folder=True)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def features_dir(ws: Any, model_version: str) -> Path:
    """Where ``batch extract`` writes its per-shard feature files."""
    return Path(ws.cache_dir) / "features" / model_version


def feature_file(ws: Any, model_version: str, key: str) -> Path:
    """The feature file of the ``extract`` shard ``key``."""
    return features_dir(ws, model_version) / f"{key.split(':', 1)[1]}.npz"


def write_features(ws: Any, res: ShardResult, model_version: str) -> tuple[Path, int]:
    """One shard's evidence blocks as ``features/<model version>/<shard key>.npz``; (path, rows)."""
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
    path = feature_file(ws, model_version, res.task.key)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **merged)  # type: ignore[arg-type]

    atomic_write(path, write)
    return path, len(ids)


def write_audit(ws: Any, res: ShardResult) -> tuple[Path, int]:
    """One shard's audit rows as ``batch-audit/<shard key>.json``; (path, rows)."""
    path = Path(ws.cache_dir) / "batch-audit" / f"{res.task.key.split(':', 1)[1]}.json"
    body = json.dumps(res.results, sort_keys=True).encode()

    def write(tmp: Path) -> None:
        tmp.write_bytes(body)

    atomic_write(path, write)
    return path, len(res.results)


def read_features(ws: Any, model_version: str) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """The current feature rows of ``model_version``: per modality (asset ids, features, present).

    Each asset appears once, from a file written for the evidence it has now: a row written before
    the asset's evidence changed (its shard got a new key, so a new file) or a second row from a run
    with another ``--shard-size`` is left out. Files written before rows carried their input hash
    fill in only assets that no current file covers.
    """
    with ws.session(readonly=True) as s:
        current = {aid: asset_inputs(shas) for aid, shas in evidence_by_asset(s, None)}
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
