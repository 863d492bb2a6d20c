"""Memos shared by the extractors of one training run: the image backbone's forward passes and the series work."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MemoBackbone", "share_memos", "unshare_memos"]


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
