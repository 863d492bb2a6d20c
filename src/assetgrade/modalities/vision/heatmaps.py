"""Where: class-activation and anomaly heat maps, their peak region, PNG overlays, and the peak-in-box rate.

A linear head on global-average-pooled maps has an exact class-activation map: the class score
is the spatial mean of sum_c w_c A_c(x, y), so that sum is where the evidence lies (B. Zhou et
al., "Learning deep features for discriminative localization", CVPR 2016). With several pooled
blocks the per-block maps are resized to the finest grid and added.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["MAX_MAP_SIDE", "cam_map", "overlay_png", "peak_in_boxes", "peak_region", "region_box", "resize_map"]

FloatArray = npt.NDArray[np.float32]

MAX_MAP_SIDE = 512
"""Longest side of the working heat map :func:`region_box` finds a region on (a 14x14 CAM holds no finer detail)."""


def resize_map(m: npt.ArrayLike, size: tuple[int, int]) -> FloatArray:
    """A 2-D map resized (bilinear) to ``size`` = (width, height)."""
    a = np.asarray(m, dtype=np.float32)
    return np.asarray(Image.fromarray(a, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def cam_map(maps: Sequence[FloatArray], weights: npt.ArrayLike) -> FloatArray:
    """Class-activation map of one image: ``maps`` are its (C_b, H_b, W_b) pooled-block maps in order,
    ``weights`` the head's raw-feature weights for one class (length sum C_b)."""
    w = np.asarray(weights, dtype=np.float64)
    total = sum(m.shape[0] for m in maps)
    if w.shape != (total,):
        raise ValueError(f"weights of length {w.shape} do not match {total} channels")
    h = max(m.shape[1] for m in maps)
    width = max(m.shape[2] for m in maps)
    out = np.zeros((h, width), dtype=np.float64)
    start = 0
    for m in maps:
        c = m.shape[0]
        part = np.tensordot(w[start : start + c], m.astype(np.float64), axes=(0, 0))
        start += c
        out += resize_map(part, (width, h)) if part.shape != (h, width) else part
    return out.astype(np.float32)


def peak_region(heat: npt.ArrayLike, level: float = 0.5) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The peak (x, y) and the box (x0, y0, x1, y1) of the connected region around it above
    ``level`` of the way from the map's minimum to its peak."""
    from scipy.ndimage import label

    a = np.asarray(heat, dtype=np.float64)
    y, x = np.unravel_index(int(np.argmax(a)), a.shape)
    lo, hi = float(a.min()), float(a.max())
    mask = a >= lo + level * (hi - lo) if hi > lo else np.ones_like(a, dtype=bool)
    lab, _ = label(mask)
    ys, xs = np.nonzero(lab == lab[y, x])
    return (int(x), int(y)), (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def region_box(
    grid: npt.ArrayLike, size: tuple[int, int], *, smooth_px: float = 0.0, level: float = 0.5,
    max_side: int = MAX_MAP_SIDE,
) -> tuple[int, int, int, int]:
    """The :func:`peak_region` box of a coarse map (a CAM or patch-score grid) in the pixels of an image of
    ``size`` = (width, height).

    The map is upsampled (bilinear, then Gaussian smoothing of ``smooth_px`` image pixels when > 0) to
    the image's size, or to a working size whose longest side is ``max_side`` for a larger image, and the
    box is scaled back to image pixels (outwards, clipped to the image). Up to ``max_side`` this is
    exactly the region on the full-size map; a 60 MP photo no longer needs a full-size float map (1 GB
    and about ten seconds per finding) to place a box whose detail comes from a 14x14 grid.

    Examples
    --------
    >>> g = np.zeros((4, 4), np.float32); g[1, 2] = 1.0
    >>> region_box(g, (40, 40)) == peak_region(resize_map(g, (40, 40)))[1]
    True
    """
    from scipy.ndimage import gaussian_filter

    w, h = size
    scale = min(1.0, max_side / max(w, h))
    ww, hh = max(1, round(w * scale)), max(1, round(h * scale))
    heat = resize_map(grid, (ww, hh))
    if smooth_px > 0:
        heat = gaussian_filter(heat, sigma=smooth_px * scale)
    _, (x0, y0, x1, y1) = peak_region(heat, level)
    if (ww, hh) == (w, h):
        return x0, y0, x1, y1
    fx, fy = w / ww, h / hh
    return (int(np.floor(x0 * fx)), int(np.floor(y0 * fy)), min(w, int(np.ceil(x1 * fx))),
            min(h, int(np.ceil(y1 * fy))))


def peak_in_boxes(heat: npt.ArrayLike, boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    """Whether the heat map's peak pixel lies inside any of the true boxes.

    Boxes are in the pixel-edge frame every box in assetgrade uses: 0-based, pixel (x, y) covers
    [x, x + 1) x [y, y + 1), and (x0, y0, x1, y1) are the edges of the box, so it holds the columns
    x0 .. x1 - 1 (what :func:`peak_region` returns, and COCO and YOLO boxes; Pascal VOC's 1-based
    inclusive boxes are converted when they are read). A pixel is inside when its centre is.

    Examples
    --------
    >>> heat = np.zeros((10, 10), np.float32); heat[4, 7] = 1.0
    >>> peak_in_boxes(heat, [(3, 2, 8, 5)]), peak_in_boxes(heat, [(3, 2, 7, 5)])
    (True, False)
    """
    (x, y), _ = peak_region(heat)
    cx, cy = x + 0.5, y + 0.5
    return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in boxes)


def overlay_png(
    image: Image.Image,
    heat: npt.ArrayLike,
    path: Path,
    *,
    alpha: float = 0.45,
    box: tuple[int, int, int, int] | None = None,
) -> Path:
    """Save ``heat`` (any size; resized to the image) over ``image`` as a PNG, optionally with the peak box."""
    from matplotlib import colormaps
    from PIL import ImageDraw

    rgb = image.convert("RGB")
    h = resize_map(heat, rgb.size).astype(np.float64)
    lo, hi = float(h.min()), float(h.max())
    norm = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    colour = (colormaps["jet"](norm)[..., :3] * 255).astype(np.uint8)
    blended = (np.asarray(rgb, dtype=np.float64) * (1 - alpha) + colour * alpha).astype(np.uint8)
    out = Image.fromarray(blended)
    if box is not None:
        ImageDraw.Draw(out).rectangle(box, outline=(255, 255, 255), width=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, format="PNG")
    return path
