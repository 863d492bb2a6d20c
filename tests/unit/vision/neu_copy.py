"""A tiny NEU-DET copy on disk, and a file cut off in its pixel data: for the benches' unreadable-image tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from assetgrade.datasets.neu import NEU_CLASSES

CHANGED = "the file changed since the data set was listed (its sha256 differs); run again"
"""How a bench names a file that changed on disk after the data set was listed."""


def cut(path: Path) -> None:
    """Keep the file's header and the first half of its pixel data."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def cut_after(real: Callable[..., Any], path: Path) -> Callable[..., Any]:
    """``real``, then the file at ``path`` cut: a step of the bench, and the file damaged once it has run."""

    def step(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        cut(path)
        return out

    return step


def write_neu_copy(root: Path, rng: np.random.Generator, n: int) -> None:
    """A NEU-DET copy: ``n`` boxed 48x48 JPEGs per class (a bright bar, placed per class)."""
    (root / "annotations").mkdir(parents=True)
    for c, cls in enumerate(NEU_CLASSES):
        (root / "images" / cls).mkdir(parents=True)
        for i in range(1, n + 1):
            arr = (128 + rng.normal(0, 10, (48, 48))).clip(0, 255).astype(np.uint8)
            arr[4 + 6 * c : 9 + 6 * c, 5:40] = 255
            Image.fromarray(arr).save(root / "images" / cls / f"{cls}_{i}.jpg")
            (root / "annotations" / f"{cls}_{i}.xml").write_text(
                f"<annotation><object><name>{cls}</name><bndbox><xmin>6</xmin><ymin>{5 + 6 * c}</ymin>"
                f"<xmax>40</xmax><ymax>{9 + 6 * c}</ymax></bndbox></object></annotation>")
