"""The evidence cache's disk level: checksummed pickled rows in one SQLite file shared by processes, capped in size."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["BUSY_TIMEOUT_S", "DISK_MAX_BYTES", "DISK_TTL_S", "DiskRows"]

log = logging.getLogger("assetgrade.grading.cache")  # the evidence cache's warnings keep the logger they had

DISK_TTL_S = 30 * 86_400.0
"""Rows not written for this long are dropped when a process opens the disk cache (recomputed on use)."""
DISK_MAX_BYTES = 2_000_000_000
"""Past this many bytes of rows, the oldest-written rows are dropped (down to 90 %) so the file stops growing."""
BUSY_TIMEOUT_S = 30.0
"""How long a process waits for another one's write to the disk cache before going on without it."""
_ROW_MAGIC = b"agrow1:"
"""Each stored row is this, the sha256 of its pickle, then the pickle (:func:`_seal`)."""


def _seal(obj: object) -> bytes:
    """``obj`` pickled behind a header and the pickle's sha256, so a damaged row can be told before unpickling."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _ROW_MAGIC + hashlib.sha256(data).digest() + data


def _unseal(blob: bytes) -> Any:
    """The object :func:`_seal` stored, or None when the bytes are not what was written (or do not unpickle here).

    SQLite has no checksum on a row's bytes: one changed byte made ``pickle.loads`` raise
    OverflowError or MemoryError (escaping to the grade) or, inside an array, return other
    numbers as the asset's evidence. Rows written before the header (or damaged in it) are misses.
    """
    head = len(_ROW_MAGIC)
    if len(blob) < head + 32 or blob[:head] != _ROW_MAGIC:
        return None
    digest, data = blob[head:head + 32], blob[head + 32:]
    if hashlib.sha256(data).digest() != digest:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # the bytes are ours, so this is a class another build renamed: a miss, recomputed
        return None


class DiskRows:
    """The disk level of :class:`~assetgrade.grading.cache.EvidenceCache`: pickled rows in one SQLite table."""

    def __init__(self, con: sqlite3.Connection, path: Path, namespace: str, max_bytes: int) -> None:
        self._con = con
        self.path = path
        self.namespace = namespace
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.broken = False

    @classmethod
    def open(cls, path: Path, namespace: str, max_bytes: int = DISK_MAX_BYTES) -> DiskRows | None:
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
        return _unseal(bytes(hit[0]))  # one unreadable row is a miss; it is written again when recomputed

    def put_many(self, rows: Mapping[str, object]) -> None:
        """Store each object under its key in this namespace, in one transaction (then trim to ``max_bytes``)."""
        if self.broken:
            return
        now = time.time()
        items = [(f"{self.namespace}/{k}", now, _seal(r)) for k, r in rows.items()]
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
