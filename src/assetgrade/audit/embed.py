"""Image embeddings for the audit and drift checks: the vision backbone's pooled features through its feature cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.store.records import ImageRef

__all__ = ["embed_images"]


def embed_images(
    refs: Sequence[ImageRef],
    *,
    backbone: str = "lite0",
    image_size: int = 224,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> npt.NDArray[np.float32]:
    """Pooled EfficientNet-Lite features (n, d) for ``refs``, cached by image hash; failed images are NaN rows."""
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir
    from assetgrade.modalities.vision.cache import FeatureCache
    from assetgrade.modalities.vision.features import extract_pooled

    root = cache_dir or default_cache_dir()
    bb = Backbone(backbone, image_size=image_size, cache_dir=root / "onnx")
    return extract_pooled(refs, bb, cache=FeatureCache(root / "features"), progress=progress).features
