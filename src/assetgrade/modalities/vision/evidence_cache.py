"""Per-image evidence cache: pooled features, CAM maps, patch features and quality, by image sha256.

The extractor sees each image through the backbone once per (backbone key, sha256): repeated
fits (cross-validation folds, retraining) read the cached evidence instead. Two layers: a
bounded in-process memo (least recently used, by bytes) and, when a cache folder is given, one
``.npz`` file per image written atomically (temp file + rename) under
``<cache>/evidence/<backbone key>/<sha[:2]>/<sha>.npz``. The backbone key holds the backbone,
input size and preprocessing version, so a change in any of them is a new key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.modalities.vision.quality import QualityReport

__all__ = ["EvidenceCache", "ImageEvidence", "clear_memory_cache"]

DEFAULT_MEMO_BYTES = 1 << 30


@dataclass
class ImageEvidence:
    """What the extractor saw in one image (before aggregation to the asset)."""

    pooled: npt.NDArray[np.float32]
    cam_maps: tuple[npt.NDArray[np.float32], ...]
    patches: npt.NDArray[np.float32]
    size: tuple[int, int]
    quality: QualityReport

    @property
    def nbytes(self) -> int:
        return int(self.pooled.nbytes + sum(m.nbytes for m in self.cam_maps) + self.patches.nbytes)


class _Memo:
    """A process-wide LRU of ImageEvidence bounded by bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.items: OrderedDict[tuple[str, str], ImageEvidence] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> ImageEvidence | None:
        with self.lock:
            ev = self.items.get(key)
            if ev is not None:
                self.items.move_to_end(key)
            return ev

    def put(self, key: tuple[str, str], ev: ImageEvidence) -> None:
        with self.lock:
            if key in self.items or ev.nbytes > self.max_bytes:
                return
            self.items[key] = ev
            self.bytes += ev.nbytes
            while self.bytes > self.max_bytes:
                _, old = self.items.popitem(last=False)
                self.bytes -= old.nbytes


_MEMO = _Memo(int(os.environ.get("ASSETGRADE_VISION_MEMO_BYTES", DEFAULT_MEMO_BYTES)))


def clear_memory_cache() -> None:
    """Forget the in-process memos, the evidence's and the pooled augment views' (the on-disk caches stay),
    as a new process would start."""
    from assetgrade.modalities.vision.features import clear_view_memo

    clear_view_memo()
    with _MEMO.lock:
        _MEMO.items.clear()
        _MEMO.bytes = 0


class EvidenceCache:
    """Cached per-image evidence for one backbone key; ``root`` None keeps it in memory only.

    Examples
    --------
    >>> from assetgrade.modalities.vision.quality import QualityReport
    >>> q = QualityReport(10.0, 120.0, 0.0, 0.0, 0.0, 64)
    >>> ev = ImageEvidence(np.ones(3, np.float32), (np.zeros((2, 1, 1), np.float32),),
    ...                    np.zeros((1, 1, 2), np.float32), (64, 64), q)
    >>> cache = EvidenceCache(None, "demo-key")
    >>> cache.put("ab" * 32, ev)
    >>> cache.get("ab" * 32).size
    (64, 64)
    """

    def __init__(self, root: Path | None, key: str) -> None:
        self.root = root / "evidence" / key if root is not None else None
        self.key = key

    def _path(self, sha: str) -> Path | None:
        return self.root / sha[:2] / f"{sha}.npz" if self.root is not None else None

    def get(self, sha: str) -> ImageEvidence | None:
        """The cached evidence of image ``sha``, or None."""
        ev = _MEMO.get((self.key, sha))
        if ev is not None:
            return ev
        path = self._path(sha)
        if path is None or not path.exists():
            return None
        try:
            ev = _read(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            # a damaged entry is never trusted; removed, so the recomputed evidence is written in its place
            with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
                path.unlink(missing_ok=True)
            return None
        _MEMO.put((self.key, sha), ev)
        return ev

    def put(self, sha: str, ev: ImageEvidence) -> None:
        """Remember the evidence of image ``sha`` (in memory, and on disk when there is a root)."""
        _MEMO.put((self.key, sha), ev)
        path = self._path(sha)
        if path is None or path.exists():
            return
        arrays: dict[str, Any] = {"pooled": ev.pooled, "patches": ev.patches, "size": np.array(ev.size)}
        for i, m in enumerate(ev.cam_maps):
            arrays[f"cam{i}"] = m
        arrays["quality"] = np.array(json.dumps(dataclasses.asdict(ev.quality)))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        except OSError:
            return  # a cache folder that cannot be written is only slower
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            Path(tmp).replace(path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # a cache that cannot be written is only slower


def _read(path: Path) -> ImageEvidence:
    with np.load(path, allow_pickle=False) as z:
        n_cam = sum(1 for k in z.files if k.startswith("cam"))
        size = tuple(int(v) for v in z["size"])
        if not np.isfinite(z["pooled"]).all():
            raise ValueError(f"{path}: non-finite pooled features")  # damaged: recomputed, never trusted
        return ImageEvidence(
            pooled=z["pooled"],
            cam_maps=tuple(z[f"cam{i}"] for i in range(n_cam)),
            patches=z["patches"],
            size=(size[0], size[1]),
            quality=QualityReport(**json.loads(str(z["quality"]))),
        )
