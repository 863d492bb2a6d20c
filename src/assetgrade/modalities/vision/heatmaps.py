"""Where: class-activation and anomaly heat maps, their peak region, PNG overlays, and the peak-in-box rate.

A linear head on global-average-pooled maps has an exact class-activation map: the class score
is the spatial mean of sum_c w_c A_c(x, y), so that sum is where the evidence lies (B. Zhou et
al., "Learning deep features for discriminative localization", CVPR 2016). With several pooled
blocks the per-block maps are resized to the finest grid and added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "HEAT_CMAP", "MAX_MAP_SIDE", "SCALE_MARK_RGB", "blend_heat", "box_outline", "cam_map", "heat_colours",
    "overlay_png", "overlay_scale_png", "peak_in_boxes", "peak_region", "region_box", "resize_map",
]

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


HEAT_CMAP = "inferno"
"""The palette of every heat map drawn for people (report, review UI, bench overlays): matplotlib's inferno, black
through purple, red and orange to pale yellow. Its lightness rises evenly with the value (CIE L* 0 to 98), so it
reads in the same order to a colour-blind eye and in grey print; jet went dark-light-dark (L* 13, 94 at 0.6, 25)
and drew bands the data does not have (Borland & Taylor, "Rainbow color map (still) considered harmful", IEEE
CG&A 2007; Crameri, Shephard & Heron, "The misuse of colour in science communication", Nat. Commun. 2020; the
map: van der Walt & Smith, matplotlib 1.5, 2015). Over a grey photo its hottest colour stands out more than
magma's (CIE76 ΔE 30 against 25 at mid grey, 23 against 17 at 75 % grey)."""


def heat_colours(heat: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """RGBA (H, W, 4) uint8 of a heat map: :data:`HEAT_CMAP` colours of the map scaled from its minimum (0) to
    its maximum (1), and that scaled value as the opacity, so the coldest part is clear and the photo under it
    shows as it is. A flat map is all clear.

    Examples
    --------
    >>> heat_colours(np.array([[0.0, 2.0]]))[0].tolist()
    [[0, 0, 4, 0], [252, 255, 164, 255]]
    """
    from matplotlib import colormaps

    h = np.asarray(heat, dtype=np.float64)
    lo, hi = (float(h.min()), float(h.max())) if h.size else (0.0, 0.0)
    norm = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    rgba = colormaps[HEAT_CMAP](norm)
    rgba[..., 3] = norm
    return np.asarray(np.round(rgba * 255), dtype=np.uint8)


def blend_heat(image: Image.Image, heat: npt.ArrayLike, *, alpha: float = 0.45) -> Image.Image:
    """``image`` (RGB) with ``heat`` (any size; resized to the image) laid over it: each pixel takes
    ``alpha`` x its scaled value of the :func:`heat_colours` colour, so the hottest part is ``alpha`` map and
    ``1 - alpha`` photo, and the coldest is the photo alone (a constant blend darkened the whole photo)."""
    rgb = image.convert("RGB")
    h = np.asarray(heat, dtype=np.float32)
    if h.shape != (rgb.size[1], rgb.size[0]):
        h = resize_map(h, rgb.size)
    rgba = heat_colours(h).astype(np.float64) / 255.0
    a = alpha * rgba[..., 3:]
    out = np.asarray(rgb, dtype=np.float64) * (1.0 - a) + rgba[..., :3] * 255.0 * a
    return Image.fromarray(np.asarray(np.round(out), dtype=np.uint8))


def box_outline(box: Sequence[float], scale: tuple[float, float] = (1.0, 1.0)) -> tuple[int, int, int, int]:
    """The PIL rectangle (x0, y0, x1, y1), last pixel included, that outlines ``box`` drawn ``scale`` = (sx, sy)
    times its size.

    ``box`` is in the pixel-edge frame of :func:`peak_in_boxes` (it holds columns x0 .. x1 - 1), PIL's
    ``ImageDraw.rectangle`` includes its last coordinate: the outline goes on the first and last pixels the
    box covers once scaled (at least one pixel).

    Examples
    --------
    >>> box_outline((3, 2, 7, 5)), box_outline((3, 2, 7, 5), (0.5, 0.5)), box_outline((4, 4, 4, 4))
    ((3, 2, 6, 4), (1, 1, 3, 2), (4, 4, 4, 4))
    """
    x0, y0, x1, y1 = box
    sx, sy = scale
    a, b = int(np.floor(x0 * sx)), int(np.floor(y0 * sy))
    return a, b, max(a, int(np.ceil(x1 * sx)) - 1), max(b, int(np.ceil(y1 * sy)) - 1)


def overlay_png(
    image: Image.Image,
    heat: npt.ArrayLike,
    path: Path,
    *,
    alpha: float = 0.45,
    box: tuple[int, int, int, int] | None = None,
) -> Path:
    """Save ``heat`` (any size; resized to the image) over ``image`` as a PNG (:func:`blend_heat`), optionally
    with the peak ``box`` (pixel-edge frame) outlined in white on the pixels it holds."""
    from PIL import ImageDraw

    out = blend_heat(image, heat, alpha=alpha)
    if box is not None:
        ImageDraw.Draw(out).rectangle(box_outline(box), outline=(255, 255, 255), width=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, format="PNG")
    return path


SCALE_MARK_RGB = (0, 170, 255)
"""The colour of a value marked on an overlay's colour scale (:func:`overlay_scale_png`): a blue no colour of
:data:`HEAT_CMAP` comes near, so a tick reads as a mark, not as part of the map."""

_SCALE_PAD = 6
_SCALE_BAR_HEIGHT = 12
_SCALE_MIN_BAR = 148  # the narrowest bar drawn: a 32 px photo still gets a readable scale


def overlay_scale_png(
    image: Image.Image,
    heat: npt.ArrayLike,
    path: Path,
    *,
    label: str,
    marks: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    alpha: float = 0.45,
    box: tuple[int, int, int, int] | None = None,
) -> Path:
    """Save the :func:`overlay_png` of ``heat`` over ``image`` with its colour scale in a white panel below.

    The photo part is :func:`overlay_png`'s, pixel for pixel. The bar is the palette at full strength from
    the map's minimum (left) to its maximum (right), as :func:`heat_colours` scales each map; its ends are
    written with those values, then ``label`` (what the values are), then each of ``marks`` (name → value:
    a :data:`SCALE_MARK_RGB` tick across the bar where the value lies, or, outside the map's range, a line
    saying on which side), then ``notes``. The panel is as wide as the photo, or wider for a readable bar
    and text (white beside the photo).

    Examples
    --------
    >>> import tempfile
    >>> p = overlay_scale_png(Image.new("RGB", (64, 48)), np.eye(48, 64), Path(tempfile.mkdtemp()) / "o.png",
    ...                       label="score", marks={"threshold": 0.5})
    >>> w, h = Image.open(p).size
    >>> w >= 64 and h > 48
    True
    """
    from PIL import ImageDraw, ImageFont

    rgb = image.convert("RGB")
    h = np.asarray(heat, dtype=np.float32)
    if h.shape != (rgb.size[1], rgb.size[0]):
        h = resize_map(h, rgb.size)
    photo = blend_heat(rgb, h, alpha=alpha)
    if box is not None:
        ImageDraw.Draw(photo).rectangle(box_outline(box), outline=(255, 255, 255), width=2)
    lo, hi = (float(h.min()), float(h.max())) if h.size else (0.0, 0.0)
    font = ImageFont.load_default()
    lines = [label]
    ticks: list[float] = []
    for name, value in (marks or {}).items():
        if hi > lo and lo <= value <= hi:
            ticks.append(value)
            lines.append(f"blue tick: {name} {value:.4g}")
        else:
            side = "above" if value > hi else "below"
            lines.append(f"{name} {value:.4g}: {side} this map's range")
    lines.extend(notes)
    ends = (f"{lo:.4g}", f"{hi:.4g}")
    text_h = int(font.getbbox("Ag")[3]) + 3
    need = max([font.getlength(t) for t in lines] + [font.getlength(f"{ends[0]}  {ends[1]}"), _SCALE_MIN_BAR])
    width = max(photo.size[0], int(np.ceil(need)) + 2 * _SCALE_PAD)
    bar_top = photo.size[1] + _SCALE_PAD
    text_top = bar_top + _SCALE_BAR_HEIGHT + 3
    canvas = Image.new("RGB", (width, text_top + text_h * (1 + len(lines)) + _SCALE_PAD), (255, 255, 255))
    canvas.paste(photo, (0, 0))
    bar_w = width - 2 * _SCALE_PAD
    ramp = heat_colours(np.linspace(0.0, 1.0, bar_w)[None, :])[..., :3]
    canvas.paste(Image.fromarray(np.repeat(ramp, _SCALE_BAR_HEIGHT, axis=0)), (_SCALE_PAD, bar_top))
    draw = ImageDraw.Draw(canvas)
    for value in ticks:
        x = _SCALE_PAD + round((value - lo) / (hi - lo) * (bar_w - 1))
        draw.rectangle((x - 1, bar_top - 3, x + 1, bar_top + _SCALE_BAR_HEIGHT + 2), fill=SCALE_MARK_RGB)
    black = (0, 0, 0)
    draw.text((_SCALE_PAD, text_top), ends[0], fill=black, font=font)
    draw.text((width - _SCALE_PAD - font.getlength(ends[1]), text_top), ends[1], fill=black, font=font)
    for i, line in enumerate(lines, start=1):
        draw.text((_SCALE_PAD, text_top + i * text_h), line, fill=black, font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, format="PNG")
    return path
