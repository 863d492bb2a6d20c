"""Evidence caching for the Grader: per-asset evidence rows keyed by content, and a shared image backbone.

Two caches make grading and out-of-fold training affordable on a small CPU:

* :class:`EvidenceCache` keeps what one fitted extractor said about one asset (its feature row,
  presence, grade distribution, findings and quality flags), keyed by the extractor's identity
  and a hash of the asset's evidence of that modality (ids + content hashes). Grading an asset
  again with the same model and the same evidence skips the extractor ("features cached").
  :meth:`EvidenceCache.persist` adds a second level on disk (one SQLite file per workspace,
  ``cache/evidence.sqlite``) so the rows outlive the process: a label round or a server restart
  after ``assetgrade grade --all`` finds them. Disk keys carry the saved model's pickle hash and
  the code version, so another model or another release never reads them; the file is a cache
  (safe to delete), and a broken one is set aside with a warning instead of failing a grade.
* :class:`MemoBackbone` wraps the vision extractor's pretrained backbone so that each image's
  forward pass runs once per process, however many fold extractors look at it. The backbone is
  frozen, so its output depends only on the preprocessed pixels (the memo key is their hash).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import pickle
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.modalities.base import EvidenceBlock, Extractor, Finding
from assetgrade.store.records import AssetRecord

__all__ = [
    "EvidenceCache",
    "EvidenceRow",
    "MemoBackbone",
    "asset_input_hash",
    "extract_cached",
    "modality_input_hash",
    "share_memos",
    "unshare_memos",
]

FloatArray = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

DISK_TTL_S = 30 * 86_400.0
"""Rows not written for this long are dropped when a process opens the disk cache (recomputed on use)."""
DISK_MAX_BYTES = 2_000_000_000
"""Past this many bytes of rows, the oldest-written rows are dropped (down to 90 %) so the file stops growing."""
BUSY_TIMEOUT_S = 30.0
"""How long a process waits for another one's write to the disk cache before going on without it."""


def modality_input_hash(record: AssetRecord, modality: str) -> str:
    """sha256 over one modality's evidence of an asset: ids and content hashes (texts, dates, costs)."""
    if modality == "vision":
        parts: list[Any] = [[i.evidence_id, i.sha256] for i in record.images]
    elif modality == "text":
        parts = [[e.evidence_id, e.text, e.date.isoformat() if e.date else None, e.cost] for e in record.logs]
        # the text row flags entries dated after now (``future_date``): which those are is an input too, so
        # the row is recomputed once such a date has passed instead of keeping the flag (hashes of assets
        # without future-dated entries are unchanged)
        now = datetime.now(UTC)
        future = [e.evidence_id for e in record.logs
                  if e.date is not None and (e.date if e.date.tzinfo else e.date.replace(tzinfo=UTC)) > now]
        if future:
            parts.append(["future_dated", future])
    elif modality == "sensors":
        parts = [[s.evidence_id, s.sha256] for s in record.series]
    else:
        parts = [record.asset_id]
    body = json.dumps([modality, parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def asset_input_hash(record: AssetRecord) -> str:
    """sha256 over all of an asset's evidence (the per-modality hashes) and its type and value."""
    body = json.dumps(
        [record.asset_type, record.value, [modality_input_hash(record, m) for m in ("vision", "text", "sensors")]],
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class EvidenceRow:
    """One asset's row of an evidence block."""

    features: FloatArray
    present: bool
    proba: FloatArray | None
    findings: list[Finding] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


class EvidenceCache:
    """A bounded in-memory LRU map from (extractor key, modality input hash) to :class:`EvidenceRow`.

    Examples
    --------
    >>> c = EvidenceCache(max_items=2)
    >>> c.put("k", EvidenceRow(np.zeros(1), True, None))
    >>> c.get("k").present, c.get("other") is None
    (True, True)
    """

    def __init__(self, max_items: int = 50_000) -> None:
        self.max_items = max_items
        self._rows: OrderedDict[str, EvidenceRow] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self._disk: _DiskRows | None = None
        self._pending: dict[str, EvidenceRow | str] = {}
        self._refs: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def persist(self, path: Path, namespace: str, max_bytes: int = DISK_MAX_BYTES) -> None:
        """Back the cache with the SQLite file ``path``; rows there are keyed under ``namespace`` (model + code).

        What the cache already holds in memory is written there too. The file holds at most about
        ``max_bytes`` of rows (of every namespace): beyond that the oldest-written go first.
        """
        self._disk = _DiskRows.open(Path(path), namespace, max_bytes)
        if self._disk is not None:
            self._pending = {**self._rows, **self._refs}
            self.flush()

    def get(self, key: str) -> EvidenceRow | None:
        """The cached row (memory first, then disk) or None (counts hits and misses)."""
        row = self._rows.get(key)
        if row is None and self._disk is not None:
            found = self._disk.get(key)
            if isinstance(found, EvidenceRow):
                self.disk_hits += 1
                self._remember(key, found)
                return found
        if row is None:
            self.misses += 1
            return None
        self._rows.move_to_end(key)
        self.hits += 1
        return row

    def put(self, key: str, row: EvidenceRow) -> None:
        """Store a row, evicting the least recently used beyond ``max_items`` (to disk at :meth:`flush`)."""
        self._remember(key, row)
        if self._disk is not None:
            self._pending[key] = row

    def get_ref(self, key: str) -> str | None:
        """A short string kept beside the rows (e.g. the blob of an image's rendered heat map), or None."""
        ref = self._refs.get(key)
        if ref is None and self._disk is not None:
            found = self._disk.get(key)
            if isinstance(found, str):
                ref = self._refs[key] = found
        return ref

    def put_ref(self, key: str, value: str) -> None:
        """Keep a short string under ``key`` (to disk at :meth:`flush`)."""
        self._refs[key] = value
        if self._disk is not None:
            self._pending[key] = value

    def flush(self) -> None:
        """Write the rows put since the last flush to disk, in one transaction (nothing without a disk level)."""
        if self._disk is not None and self._pending:
            self._disk.put_many(self._pending)
        self._pending = {}

    def _remember(self, key: str, row: EvidenceRow) -> None:
        self._rows[key] = row
        self._rows.move_to_end(key)
        while len(self._rows) > self.max_items:
            self._rows.popitem(last=False)

    def clear(self) -> None:
        """Forget every row held in memory (the disk level keeps its rows)."""
        self._rows.clear()
        self._refs.clear()
        self._pending = {}

    def close(self) -> None:
        """Write what is pending and close the disk level (memory stays usable)."""
        self.flush()
        if self._disk is not None:
            self._disk.close()
            self._disk = None


class _DiskRows:
    """The disk level of :class:`EvidenceCache`: pickled rows in one SQLite table, shared by processes."""

    def __init__(self, con: sqlite3.Connection, path: Path, namespace: str, max_bytes: int) -> None:
        self._con = con
        self.path = path
        self.namespace = namespace
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.broken = False

    @classmethod
    def open(cls, path: Path, namespace: str, max_bytes: int = DISK_MAX_BYTES) -> _DiskRows | None:
        """The opened file (created when absent; stale rows dropped), or None with a warning when it is unusable."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE IF NOT EXISTS evidence_rows (key TEXT PRIMARY KEY, written REAL NOT NULL, "
                        "row BLOB NOT NULL)")
            con.execute("CREATE INDEX IF NOT EXISTS ix_evidence_rows_written ON evidence_rows (written)")
            con.execute("DELETE FROM evidence_rows WHERE written < ?", (time.time() - DISK_TTL_S,))
            _trim(con, max_bytes)
        except (OSError, sqlite3.Error) as exc:
            log.warning("evidence cache %s is not usable (%s); grading goes on without it", path, exc)
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                _set_aside(path)  # not a database (corrupt): a locked or unreadable one is left as it is
            return None
        return cls(con, path, namespace, max_bytes)

    def get(self, key: str) -> Any:
        """The object stored under ``key`` in this namespace, or None."""
        if self.broken:
            return None
        try:
            with self._lock:
                hit = self._con.execute("SELECT row FROM evidence_rows WHERE key = ?",
                                        (f"{self.namespace}/{key}",)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        if hit is None:
            return None
        try:
            return pickle.loads(hit[0])
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None  # one unreadable row is a miss; it is written again when recomputed

    def put_many(self, rows: dict[str, EvidenceRow | str]) -> None:
        if self.broken:
            return
        now = time.time()
        items = [(f"{self.namespace}/{k}", now, pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL))
                 for k, r in rows.items()]
        try:
            with self._lock:
                self._con.execute("BEGIN IMMEDIATE")
                try:
                    self._con.executemany("INSERT OR REPLACE INTO evidence_rows (key, written, row) VALUES (?, ?, ?)",
                                          items)
                except BaseException:
                    self._con.execute("ROLLBACK")
                    raise
                self._con.execute("COMMIT")
                _trim(self._con, self.max_bytes)
        except sqlite3.Error as exc:
            self._fail(exc)

    def close(self) -> None:
        with self._lock:
            self._con.close()
        self.broken = True

    def _fail(self, exc: Exception) -> None:
        log.warning("evidence cache %s failed (%s); grading goes on without it", self.path, exc)
        self.broken = True


def _trim(con: sqlite3.Connection, max_bytes: int) -> int:
    """Drop the oldest-written rows when the file's used pages pass ``max_bytes``; returns how many went.

    The used size ((pages - free pages) x page size) costs three pragma reads, so this runs after
    every write; freed pages are re-used by later rows, so the file stops growing near the cap.
    """
    page = int(con.execute("PRAGMA page_size").fetchone()[0])
    used = (int(con.execute("PRAGMA page_count").fetchone()[0])
            - int(con.execute("PRAGMA freelist_count").fetchone()[0])) * page
    if used <= max_bytes:
        return 0
    excess, freed, keys = used - 0.9 * max_bytes, 0, []
    cur = con.execute("SELECT key, LENGTH(row) + LENGTH(key) FROM evidence_rows ORDER BY written, key")
    for key, n in cur:
        if freed >= excess:
            break
        keys.append((key,))
        freed += int(n)
    cur.close()
    con.execute("BEGIN IMMEDIATE")
    try:
        con.executemany("DELETE FROM evidence_rows WHERE key = ?", keys)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    log.info("evidence cache over %d bytes: dropped the %d oldest rows", max_bytes, len(keys))
    return len(keys)


def _set_aside(path: Path) -> None:
    """Move an unreadable cache file out of the way (``.broken``) so the next process starts a fresh one."""
    if path.is_file():
        with contextlib.suppress(OSError):
            path.replace(path.with_name(path.name + ".broken"))


def _rows_of(block: EvidenceBlock) -> list[EvidenceRow]:
    out = []
    for i, aid in enumerate(block.asset_ids):
        out.append(
            EvidenceRow(
                features=np.array(block.features[i], dtype=np.float64),
                present=bool(block.present[i]),
                proba=None if block.grade_proba is None else np.array(block.grade_proba[i], dtype=np.float64),
                findings=list(block.findings.get(aid, [])),
                flags=list(block.quality_flags.get(aid, [])),
            )
        )
    return out


def extract_cached(
    extractor: Extractor,
    records: Sequence[AssetRecord],
    *,
    key: str,
    feature_names: tuple[str, ...],
    n_classes: int,
    cache: EvidenceCache | None,
) -> EvidenceBlock:
    """``extractor.extract(records)`` with rows served from ``cache`` where the asset's evidence is unchanged.

    ``key`` identifies the fitted extractor (model version + modality); only records missing from
    the cache go to the extractor, in one batch.
    """
    modality = extractor.modality
    keys = [f"{key}/{modality_input_hash(r, modality)}" for r in records]
    rows: list[EvidenceRow | None] = [cache.get(k) if cache is not None else None for k in keys]
    todo = [i for i, r in enumerate(rows) if r is None]
    unreadable: frozenset[str] = frozenset()  # a row from the cache was read whole
    if todo:
        fresh = extractor.extract([records[i] for i in todo])
        unreadable = fresh.unreadable
        for i, new in zip(todo, _rows_of(fresh), strict=True):
            rows[i] = new
            if cache is not None and records[i].asset_id not in fresh.unreadable:  # a repaired file is read again
                cache.put(keys[i], new)
        if cache is not None:
            cache.flush()
    ids = [r.asset_id for r in records]
    n = len(records)
    feats = np.full((n, len(feature_names)), np.nan)
    present = np.zeros(n, dtype=bool)
    have_proba = any(r is not None and r.proba is not None for r in rows)
    proba = np.full((n, n_classes), np.nan) if have_proba else None
    findings: dict[str, list[Finding]] = {}
    flags: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        assert row is not None
        if row.features.shape == (len(feature_names),):
            feats[i] = row.features
        present[i] = row.present
        if proba is not None and row.proba is not None and row.proba.shape == (n_classes,):
            proba[i] = row.proba
        if row.findings:
            findings[ids[i]] = list(row.findings)
        if row.flags:
            flags[ids[i]] = list(row.flags)
    return EvidenceBlock(modality, ids, feature_names, feats, present, findings, flags, proba, unreadable=unreadable)


class MemoBackbone:
    """A backbone proxy that remembers single-image outputs by the hash of the preprocessed pixels.

    Every attribute but ``run`` is the wrapped backbone's. Batches of more than one image pass
    through unchanged. At most ``max_bytes`` of outputs are kept (least recently used dropped);
    Lite0 at 224 pixels gives about 0.66 MB per image.
    """

    def __init__(self, inner: Any, max_bytes: int = 1_500_000_000) -> None:
        self._inner = inner
        self._memo: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.max_bytes = max_bytes
        self.nbytes = 0

    @property
    def inner(self) -> Any:
        """The wrapped backbone."""
        return self._inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run(self, batch: npt.NDArray[np.float32], *, maps: bool = True) -> Any:
        """The wrapped ``run``, memoised for one-image batches."""
        if batch.ndim != 4 or batch.shape[0] != 1:
            return self._inner.run(batch, maps=maps)
        arr = np.ascontiguousarray(batch, dtype=np.float32)
        k = hashlib.sha1(arr.tobytes()).hexdigest() + ("m" if maps else "p")
        hit = self._memo.get(k)
        if hit is not None:
            self._memo.move_to_end(k)
            return hit[0]
        out = self._inner.run(arr, maps=maps)
        size = int(out.pooled.nbytes) + sum(int(m.nbytes) for m in (*out.cam_maps, *out.patch_maps))
        self._memo[k] = (out, size)
        self.nbytes += size
        while self.nbytes > self.max_bytes and len(self._memo) > 1:
            _, (_, dropped) = self._memo.popitem(last=False)
            self.nbytes -= dropped
        return out


def share_memos(extractor: Any, shared: dict[str, Any]) -> None:
    """Give the extractors of one training run the memos in ``shared`` (created on first use).

    * A vision extractor (anything with ``_bb()``) gets one :class:`MemoBackbone` per backbone
      setting: it builds its backbone lazily in ``_bb()`` and keeps it in ``_backbone``, so fold
      extractors with the same settings share one runtime session and one memo of forward passes.
    * A sensors extractor (anything with ``use_memo``) gets one
      :class:`~assetgrade.modalities.sensors.memo.SeriesMemo` of its fold-independent work.

    Neither memo changes a value; :func:`unshare_memos` takes them back before a model is kept.
    """
    if callable(getattr(extractor, "use_memo", None)):
        if "sensors:series" not in shared:
            from assetgrade.modalities.sensors.memo import SeriesMemo

            shared["sensors:series"] = SeriesMemo()
        extractor.use_memo(shared["sensors:series"])
    if not callable(getattr(extractor, "_bb", None)):
        return
    sig = "/".join(str(getattr(extractor, a, None)) for a in ("backbone", "image_size", "engine", "cache_dir"))
    if sig not in shared:
        bb = extractor._bb()
        shared[sig] = bb if isinstance(bb, MemoBackbone) else MemoBackbone(bb)
    extractor._backbone = shared[sig]


def unshare_memos(extractor: Any) -> None:
    """Take back what :func:`share_memos` gave: the plain backbone (keeping its runtime session), no series memo."""
    if callable(getattr(extractor, "use_memo", None)):
        extractor.use_memo(None)
    bb = getattr(extractor, "_backbone", None)
    if isinstance(bb, MemoBackbone):
        extractor._backbone = bb.inner
