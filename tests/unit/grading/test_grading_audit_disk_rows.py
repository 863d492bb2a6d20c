"""Audit of the evidence cache's disk level: a row whose stored bytes changed is a miss, not a crash."""

from __future__ import annotations

import pickle
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assetgrade.grading.cache import EvidenceCache, EvidenceRow


def _stored(db: Path, row: EvidenceRow) -> None:
    cache = EvidenceCache()
    cache.persist(db, "m")
    cache.put("k", row)
    cache.close()


def _damage(db: Path, edit: Callable[[bytes], bytes]) -> None:
    """Replace the stored blob of key ``k`` by ``edit(blob)``, as a bit flip on disk would."""
    con = sqlite3.connect(db, isolation_level=None)
    (blob,) = con.execute("SELECT row FROM evidence_rows WHERE key = 'm/k'").fetchone()
    con.execute("UPDATE evidence_rows SET row = ? WHERE key = 'm/k'", (edit(bytes(blob)),))
    con.close()


def _read(db: Path) -> EvidenceRow | None:
    cache = EvidenceCache()
    cache.persist(db, "m")
    try:
        return cache.get("k")
    finally:
        cache.close()


def test_a_row_damaged_into_an_unpicklable_frame_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "evidence.sqlite"
    _stored(db, EvidenceRow(np.array([1.0, 2.0]), True, None))
    # the last byte of the pickle's FRAME length (bytes 3-10, after PROTO 5) set to 0xff: pickle.loads raises
    # OverflowError (other bytes give MemoryError), which the row reader let through: one damaged row failed
    # every grade of its asset
    pk = pickle.dumps(EvidenceRow(np.array([1.0, 2.0]), True, None), protocol=pickle.HIGHEST_PROTOCOL)
    assert pk[2] == pickle.FRAME[0]
    _damage(db, lambda blob: blob.replace(pk, pk[:10] + b"\xff" + pk[11:]))
    assert _read(db) is None


def test_a_row_whose_bytes_changed_is_not_served_with_other_values(tmp_path: Path) -> None:
    db = tmp_path / "evidence.sqlite"
    _stored(db, EvidenceRow(np.array([1.0, 2.0]), True, np.array([0.25, 0.75])))
    got = _read(db)
    assert got is not None and got.features.tolist() == [1.0, 2.0]
    # one changed float inside the stored row: it unpickled as features [5.0, 2.0], served as the asset's evidence
    _damage(db, lambda blob: blob.replace(struct.pack("<d", 1.0), struct.pack("<d", 5.0), 1))
    assert _read(db) is None
