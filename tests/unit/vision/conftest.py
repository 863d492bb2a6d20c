"""Vision test fixtures: one backbone per session (loading weights and exporting ONNX once), a bench cache holding
that graph, tiny images."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.modalities.vision.backbone import Backbone


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session folder for exported ONNX graphs."""
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def backbone64(onnx_dir: Path) -> Backbone:
    """Lite0 at 64x64 through onnxruntime: small and fast for unit tests."""
    return Backbone("lite0", image_size=64, cache_dir=onnx_dir)


@pytest.fixture(scope="session")
def graph64(backbone64: Backbone) -> Path:
    """``backbone64``'s exported ONNX graph, exported once per session (per xdist worker)."""
    path = backbone64.onnx_path()
    if not path.exists():
        backbone64.export_onnx()
    return path


@pytest.fixture
def bench_cache(tmp_path: Path, graph64: Path) -> Path:
    """A bench's cache folder (``tmp_path / "cache"``) whose ``onnx/`` holds a copy of the session's graph of lite0
    at 64 pixels, under the name a bench's backbone looks for: a bench at image size 64 reads it instead of
    exporting its own (2.5 s of CPU each). The copy is the test's own, free to damage or replace."""
    cache = tmp_path / "cache"
    (cache / "onnx").mkdir(parents=True)
    shutil.copyfile(graph64, cache / "onnx" / graph64.name)
    return cache


@pytest.fixture(scope="session")
def backbone224(onnx_dir: Path) -> Backbone:
    """Lite0 at its native 224x224 (for the ImageNet sanity checks)."""
    return Backbone("lite0", image_size=224, engine="torch", cache_dir=onnx_dir)


def png_bytes(arr: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> bytes:
    """Encode an array as image bytes."""
    buf = io.BytesIO()
    (Image.fromarray(arr, mode=mode) if mode else Image.fromarray(arr)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    """Factory for encoded test images."""
    return png_bytes
