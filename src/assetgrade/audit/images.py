"""Perceptual hashes (pHash, dHash) and simple image statistics, computed with numpy/scipy only.

pHash: grey 32x32 resize, 2-D DCT-II, the 8x8 lowest frequencies thresholded at their median
(C. Zauner, "Implementation and benchmarking of perceptual image hash functions", 2010;
N. Krawetz, "Looks like it", hackerfactor.com, 2011). dHash: grey 9x8 resize, one bit per
horizontal gradient sign (N. Krawetz, "Kind of like that", 2013). Both survive resizing and
JPEG recompression with a small Hamming distance. The statistics (brightness, contrast,
sharpness as variance of the Laplacian, share of extreme pixels, JPEG blockiness, width,
height) are the usual shortcut suspects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import fft, ndimage

from assetgrade.audit.data import AuditData
from assetgrade.errors import AssetgradeError

__all__ = ["STAT_NAMES", "ImageDigests", "dhash", "hamming_matrix", "image_digests", "image_stats", "phash"]

STAT_NAMES = ("brightness", "contrast", "sharpness", "extreme_pixels", "blockiness", "width", "height")


def _grey(img: Image.Image, size: tuple[int, int]) -> npt.NDArray[np.float64]:
    return np.asarray(img.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=np.float64)


def phash(img: Image.Image, *, hash_size: int = 8, highfreq_factor: int = 4) -> npt.NDArray[np.bool_]:
    """64-bit perceptual hash (as a bool vector): DCT of a 32x32 grey image, low 8x8 block vs its median.

    Examples
    --------
    >>> img = Image.fromarray((np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8))
    >>> phash(img).shape
    (64,)
    """
    side = hash_size * highfreq_factor
    pixels = _grey(img, (side, side))
    coeffs = fft.dctn(pixels, type=2, norm="ortho")[:hash_size, :hash_size]
    return np.asarray(coeffs > np.median(coeffs)).ravel()


def dhash(img: Image.Image, *, hash_size: int = 8) -> npt.NDArray[np.bool_]:
    """64-bit difference hash: is each pixel of a (hash_size+1) x hash_size grey image brighter than its left one."""
    pixels = _grey(img, (hash_size + 1, hash_size))
    return (pixels[:, 1:] > pixels[:, :-1]).ravel()


def _blockiness(grey: npt.NDArray[np.float64]) -> float:
    """JPEG 8x8 block artefacts: mean |step| across column 8k boundaries over mean |step| elsewhere."""
    d = np.abs(np.diff(grey, axis=1))
    if d.shape[1] < 16:
        return 1.0
    at = d[:, 7::8].mean()
    mask = np.ones(d.shape[1], bool)
    mask[7::8] = False
    inside = d[:, mask].mean()
    return float(at / inside) if inside > 0 else 1.0


def image_stats(img: Image.Image) -> npt.NDArray[np.float64]:
    """The ``STAT_NAMES`` of one image.

    Brightness (mean grey), contrast (grey std), sharpness (variance of the Laplacian),
    extreme pixels (share more than 3 SD from the mean: drawn marks), blockiness (JPEG grid
    strength, ~1 for a never-compressed image), width, height.
    """
    grey = np.asarray(img.convert("L"), dtype=np.float64)
    lap = ndimage.laplace(grey)
    sd = grey.std()
    extreme = float(np.mean(np.abs(grey - grey.mean()) > 3 * sd)) if sd > 0 else 0.0
    return np.array(
        [grey.mean(), sd, lap.var(), extreme, _blockiness(grey), img.width, img.height], dtype=np.float64
    )


def hamming_matrix(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.int64]:
    """Pairwise Hamming distances between rows of bool hash matrices (n, bits) and (m, bits)."""
    b = a if b is None else b
    ai, bi = a.astype(np.int64), b.astype(np.int64)
    same = ai @ bi.T + (1 - ai) @ (1 - bi).T
    return a.shape[1] - same  # type: ignore[no-any-return]


class ImageDigests:
    """pHash, dHash and statistics of every image of an AuditData; rows whose image failed have ``ok`` False.

    Examples
    --------
    >>> d = ImageDigests(np.zeros((1, 64), bool), np.zeros((1, 64), bool), np.zeros((1, 7)), np.ones(1, bool), {})
    >>> int(d.ok.sum())
    1
    """

    def __init__(
        self,
        phashes: npt.NDArray[np.bool_],
        dhashes: npt.NDArray[np.bool_],
        stats: npt.NDArray[np.float64],
        ok: npt.NDArray[np.bool_],
        errors: dict[int, str],
    ) -> None:
        self.phashes = phashes
        self.dhashes = dhashes
        self.stats = stats
        self.ok = ok
        self.errors = errors


def image_digests(data: AuditData, *, progress: bool = False) -> ImageDigests | None:
    """The digests of ``data``'s images (None without an image loader); memoised in ``data.cache``."""
    if data.image_loader is None:
        return None
    cached: Any = data.cache.get("image_digests")
    if isinstance(cached, ImageDigests):
        return cached
    n = data.n
    ph = np.zeros((n, 64), bool)
    dh = np.zeros((n, 64), bool)
    st = np.full((n, len(STAT_NAMES)), np.nan)
    ok = np.zeros(n, bool)
    errors: dict[int, str] = {}
    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        bar.start()
        task = bar.add_task("image hashes", total=n)
    try:
        for i in range(n):
            try:
                img = data.image_loader(i)
                ph[i], dh[i], st[i] = phash(img), dhash(img), image_stats(img)
                ok[i] = True
            except (AssetgradeError, OSError, ValueError) as exc:
                errors[i] = str(exc)
            if bar is not None:
                bar.update(task, advance=1)
    finally:
        if bar is not None:
            bar.stop()
    out = ImageDigests(ph, dh, st, ok, errors)
    data.cache["image_digests"] = out
    return out
