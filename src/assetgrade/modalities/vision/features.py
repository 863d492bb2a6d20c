"""Batch feature extraction over image references: decode, preprocess, backbone, with the feature cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.errors import AssetgradeError
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.cache import FeatureCache
from assetgrade.modalities.vision.images import augment_views, decode_image, preprocess, ref_where
from assetgrade.store.records import ImageRef

__all__ = ["FeatureBatch", "extract_pooled", "load_images", "pooled_views"]


@dataclass
class FeatureBatch:
    """Pooled features for a list of images; rows of images that failed are NaN with the reason in ``errors``."""

    features: npt.NDArray[np.float32]
    errors: dict[int, str] = field(default_factory=dict)
    backbone_seconds: float = 0.0
    computed: int = 0

    @property
    def images_per_s(self) -> float:
        """Backbone throughput on the images actually computed (cache hits excluded)."""
        return self.computed / self.backbone_seconds if self.backbone_seconds > 0 else float("nan")


def load_images(refs: Sequence[ImageRef]) -> tuple[list[object], dict[int, str]]:
    """Decode each reference; a bad image becomes None with its error, the batch goes on."""
    out: list[object] = []
    errors: dict[int, str] = {}
    for i, ref in enumerate(refs):
        try:
            out.append(decode_image(ref.load_bytes(), where=ref_where(ref)))
        except (AssetgradeError, OSError) as exc:
            errors[i] = str(exc)
            out.append(None)
    return out, errors


def extract_pooled(
    refs: Sequence[ImageRef],
    backbone: Backbone,
    *,
    cache: FeatureCache | None = None,
    view: str = "id",
    batch_size: int = 32,
    progress: bool = False,
) -> FeatureBatch:
    """Pooled backbone features for ``refs`` under one augmentation ``view``, reusing the cache.

    Cache keys are ``backbone.key/view`` and the image's sha256, so a retrain on the same
    images with the same backbone recomputes nothing.
    """
    n = len(refs)
    feats = np.full((n, backbone.feature_dim), np.nan, dtype=np.float32)
    key = f"{backbone.key}/{view}"
    todo = list(range(n))
    if cache is not None:
        found, todo = cache.get_many(key, [r.sha256 for r in refs])
        for i, vec in enumerate(found):
            if vec is not None and vec.shape == (backbone.feature_dim,) and np.isfinite(vec).all():
                feats[i] = vec
            elif vec is not None:  # another backbone's vector, or a damaged one (NaN would poison every head)
                todo.append(i)
        todo.sort()
    errors: dict[int, str] = {}
    seconds = 0.0
    computed = 0
    chunks = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
    if chunks:
        backbone.warm_up()
    bar = None
    if progress and chunks:
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        bar.start()
        task = bar.add_task(f"features {backbone.name}@{backbone.image_size} [{view}]", total=len(todo))
    try:
        for chunk in chunks:
            ok: list[int] = []
            arrays = []
            for j, i in enumerate(chunk):  # each photo reduced to the network input as soon as it is decoded
                try:
                    img = decode_image(refs[i].load_bytes(), where=ref_where(refs[i]))
                except (AssetgradeError, OSError) as exc:
                    errors[i] = str(exc)
                    continue
                arrays.append(preprocess(augment_views(img, (view,))[0], backbone.image_size))
                ok.append(j)
                del img
            if ok:
                t0 = time.perf_counter()
                out = backbone.run(np.stack(arrays), maps=False).pooled
                seconds += time.perf_counter() - t0
                computed += len(ok)
                idx = [chunk[j] for j in ok]
                feats[idx] = out
                if cache is not None:
                    cache.put_many(key, [refs[i].sha256 for i in idx], out)
            if bar is not None:
                bar.update(task, advance=len(chunk))
    finally:
        if bar is not None:
            bar.stop()
    return FeatureBatch(feats, errors, seconds, computed)


class _VectorMemo:
    """A process-wide LRU of pooled vectors keyed by (backbone key/view, sha256), bounded by count."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.items: OrderedDict[tuple[str, str], npt.NDArray[np.float32]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> npt.NDArray[np.float32] | None:
        with self.lock:
            vec = self.items.get(key)
            if vec is not None:
                self.items.move_to_end(key)
            return vec

    def put(self, key: tuple[str, str], vec: npt.NDArray[np.float32]) -> None:
        with self.lock:
            self.items[key] = vec
            self.items.move_to_end(key)
            while len(self.items) > self.max_items:
                self.items.popitem(last=False)


    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_VIEW_MEMO = _VectorMemo(50_000)  # about 380 MB at Lite0's 1,904 values


def clear_view_memo() -> None:
    """Forget the pooled views' in-process memo (their on-disk :class:`FeatureCache` stays)."""
    _VIEW_MEMO.clear()


def pooled_views(
    refs: Sequence[ImageRef], backbone: Backbone, views: Sequence[str], *, cache_root: Path | None = None
) -> tuple[dict[str, npt.NDArray[np.float32]], dict[int, str]]:
    """Pooled features of every image under each augmentation view, and the images that failed.

    Vectors are remembered in process (repeated fits of cross-validation folds compute each view
    of an image once) and, with ``cache_root``, in a :class:`FeatureCache` under
    ``cache_root/features`` (the layout ``assetgrade bench vision`` uses, so the two share work).
    A row of a failed image is NaN and its index is in the errors.
    """
    out: dict[str, npt.NDArray[np.float32]] = {}
    errors: dict[int, str] = {}
    disk = FeatureCache(cache_root / "features") if cache_root is not None else None
    for view in views:
        key = f"{backbone.key}/{view}"
        feats = np.full((len(refs), backbone.feature_dim), np.nan, dtype=np.float32)
        todo: list[int] = []
        for i, ref in enumerate(refs):
            vec = _VIEW_MEMO.get((key, ref.sha256))
            if vec is None:
                todo.append(i)
            else:
                feats[i] = vec
        if todo:
            batch = extract_pooled([refs[i] for i in todo], backbone, cache=disk, view=view)
            for j, i in enumerate(todo):
                if j in batch.errors:
                    errors[i] = batch.errors[j]
                    continue
                feats[i] = batch.features[j]
                _VIEW_MEMO.put((key, refs[i].sha256), batch.features[j].copy())  # not a view that pins the batch
        out[view] = feats
    return out, errors
