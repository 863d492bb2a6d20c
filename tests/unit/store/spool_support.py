"""What the spool and blob-collection tests share: ages, an old file, an object store of their own."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from assetgrade.store.blobs import BlobStore

DAY = 24 * 3600.0
HOUR = 3600.0


def make_old(path: Path | str, seconds: float = 3 * DAY) -> None:
    """Set the file's times ``seconds`` into the past (past any grace period the tests give)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def object_store(name: str = "spool") -> BlobStore:
    """A fresh in-memory object store (not local: its spool copies go to the system temp folder)."""
    store = BlobStore(f"memory://{name}-{uuid.uuid4().hex}")
    assert not store.is_local
    return store
