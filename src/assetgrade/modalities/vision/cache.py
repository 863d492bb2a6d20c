"""Feature cache keyed by (image sha256, backbone key, preprocessing version) so retraining never recomputes."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.errors import StoreError, ValidationError

__all__ = ["FeatureCache"]

_SHA = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9._+\-]+$")


class FeatureCache:
    """Pooled image features on disk: ``root/<key>/<sha[:2]>/<sha>.npy``, one float32 vector per file.

    ``key`` names the backbone, input size, preprocessing version, blocks, weights/torch/runtime tag
    (``Backbone.runtime_tag``) and view (e.g. ``lite0-224-p2-b10.14.15-ecae3933a5/hflip``), so a
    change to any of them misses the cache instead of
    returning stale features. Writes are atomic (write to a temp file, then rename).

    Examples
    --------
    >>> import tempfile
    >>> cache = FeatureCache(Path(tempfile.mkdtemp()))
    >>> sha = "a" * 64
    >>> cache.put_many("k", [sha], np.ones((1, 3), np.float32))
    >>> cache.get_many("k", [sha, "b" * 64])[1]
    [1]
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str, sha: str) -> Path:
        if not _SHA.match(sha):
            raise ValidationError(f"not a lower-case sha256 hex digest: {sha!r}", where="feature cache")
        parts = key.split("/")
        if not all(_KEY.match(p) and p not in (".", "..") for p in parts):
            raise ValidationError(f"bad cache key {key!r}", where="feature cache")
        return self.root.joinpath(*parts, sha[:2], f"{sha}.npy")

    def get_many(self, key: str, shas: Sequence[str]) -> tuple[list[npt.NDArray[np.float32] | None], list[int]]:
        """Cached vectors (None where missing) and the indices of the misses."""
        found: list[npt.NDArray[np.float32] | None] = []
        missing: list[int] = []
        for i, sha in enumerate(shas):
            path = self._path(key, sha)
            vec: npt.NDArray[np.float32] | None = None
            if path.exists():
                try:
                    vec = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
                except (OSError, ValueError, EOFError):  # EOFError: an empty file (a write lost in a crash)
                    vec = None  # a torn or corrupt entry is a miss, recomputed and overwritten
            if vec is None:
                missing.append(i)
                self.misses += 1
            else:
                self.hits += 1
            found.append(vec)
        return found, missing

    def put_many(self, key: str, shas: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        """Store one row of ``vectors`` per sha."""
        if len(shas) != len(vectors):
            raise ValidationError(f"{len(shas)} hashes but {len(vectors)} vectors", where="feature cache")
        for sha, vec in zip(shas, vectors, strict=True):
            path = self._path(key, sha)
            tmp: Path | None = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # a temp name of its own per write: two threads of one process may store the same image at once
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                tmp = Path(name)
                with os.fdopen(fd, "wb") as fh:
                    np.save(fh, np.asarray(vec, dtype=np.float32), allow_pickle=False)
                tmp.replace(path)
            except OSError as exc:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                raise StoreError(f"cannot write feature cache entry {path}: {exc}") from exc
