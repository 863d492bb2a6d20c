"""Anomaly scoring against known-good images: PatchCore-style patch nearest neighbours with a greedy coreset.

Follows K. Roth, L. Pemula, J. Zepeda, B. Schölkopf, T. Brox, P. Gehler, "Towards Total Recall
in Industrial Anomaly Detection", CVPR 2022: mid-level feature maps of a pretrained network
(two blocks, the deeper one upsampled), locally aggregated over 3x3 neighbourhoods, form a
memory bank of normal patches; greedy k-center coreset subsampling (on a random projection)
keeps the bank bounded however many good images arrive; a test patch's score is its distance
to the nearest bank patch, the image score is the maximum over patches, and the patch scores
upsampled and smoothed (Gaussian, sigma 4 px) are the heat map. The alarm threshold comes from
a target false-alarm rate on held-out good images (a finite-sample (n + 1) rank, which says when
there are too few of them for the target), never from a raw score.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = ["SMOOTH_PX", "AlarmThreshold", "PatchCore", "greedy_coreset", "patch_features", "upsample_map"]

FloatArray = npt.NDArray[np.float32]


def _avg3x3(m: FloatArray) -> FloatArray:
    """3x3 mean over each position (edge-padded): PatchCore's local neighbourhood aggregation."""
    p = np.pad(m, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = m.shape[2], m.shape[3]
    acc = np.zeros_like(m)
    for dy in range(3):
        for dx in range(3):
            acc += p[:, :, dy : dy + h, dx : dx + w]
    return acc / 9.0  # type: ignore[no-any-return]


def _resize_maps(m: FloatArray, h: int, w: int) -> FloatArray:
    """Bilinear resize of (n, c, h0, w0) maps to (n, c, h, w) via PIL (float mode)."""
    from PIL import Image

    n, c = m.shape[:2]
    out = np.empty((n, c, h, w), dtype=np.float32)
    for i in range(n):
        for j in range(c):
            out[i, j] = np.asarray(
                Image.fromarray(m[i, j].astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
            )
    return out


def patch_features(maps: Sequence[FloatArray]) -> FloatArray:
    """(n, H, W, D) patch features: each map 3x3-aggregated, resized to the first map's grid, concatenated."""
    if not maps:
        raise ValidationError("no feature maps given", where="anomaly")
    h, w = maps[0].shape[2:]
    parts = []
    for m in maps:
        a = _avg3x3(np.asarray(m, dtype=np.float32))
        if a.shape[2:] != (h, w):
            a = _resize_maps(a, h, w)
        parts.append(a)
    return np.concatenate(parts, axis=1).transpose(0, 2, 3, 1).copy()


SMOOTH_PX = 4.0
"""Gaussian smoothing (sigma, image pixels) of an upsampled anomaly map."""


def upsample_map(patch_scores: FloatArray, size: tuple[int, int], sigma: float = SMOOTH_PX) -> FloatArray:
    """A (h, w) patch-score grid as an image-sized heat map (bilinear, then Gaussian smoothing)."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    width, height = size
    up = np.asarray(
        Image.fromarray(patch_scores.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BILINEAR)
    )
    return gaussian_filter(up, sigma=sigma) if sigma > 0 else up  # type: ignore[no-any-return]


def greedy_coreset(
    X: FloatArray, m: int, *, rng: np.random.Generator, projection_dim: int = 64
) -> npt.NDArray[np.int64]:
    """Indices of ``m`` rows chosen by greedy k-center selection (Sener & Savarese 2018; PatchCore §3.2).

    Distances are computed on a Johnson-Lindenstrauss random projection to ``projection_dim``
    dimensions, as in PatchCore, which keeps the selection O(n · m · projection_dim).
    """
    n = len(X)
    if m >= n:
        return np.arange(n)
    P = np.asarray(X, dtype=np.float32)
    if P.shape[1] > projection_dim:
        R = rng.normal(size=(P.shape[1], projection_dim)).astype(np.float32) / np.sqrt(projection_dim)
        P = P @ R
    P = np.ascontiguousarray(P)
    first = int(rng.integers(n))
    sel = np.empty(m, dtype=np.int64)
    sel[0] = first
    # plain element-wise numpy, not BLAS: thousands of tiny mat-vecs stall threaded BLAS on a busy machine
    diff = np.empty_like(P)
    np.subtract(P, P[first], out=diff)
    mind = np.einsum("ij,ij->i", diff, diff)
    for k in range(1, m):
        i = int(np.argmax(mind))
        sel[k] = i
        np.subtract(P, P[i], out=diff)
        np.minimum(mind, np.einsum("ij,ij->i", diff, diff), out=mind)
    return sel


@dataclass(frozen=True)
class AlarmThreshold:
    """An anomaly-score threshold set from a target false-alarm rate on held-out good images.

    ``value`` is the k-th smallest of the n held-out good scores, k = ceil((n + 1)(1 − target)):
    for a new good image exchangeable with them, P(score > value) ≤ k' / (n + 1) ≤ target, the
    finite-sample rank of split conformal prediction (V. Vovk, A. Gammerman, G. Shafer,
    "Algorithmic Learning in a Random World", 2005; J. Lei et al., "Distribution-free predictive
    inference for regression", JASA 2018). When k > n (fewer than 1/target − 1 good images: 20
    cannot promise 1 %) no held-out score is high enough; ``value`` is then their maximum, which
    a new good image exceeds with probability 1/(n + 1), and ``guaranteed`` is False.
    """

    value: float
    target_false_alarm: float
    observed_false_alarm: float
    n_good: int
    guaranteed: bool = True

    @property
    def expected_false_alarm(self) -> float:
        """The false-alarm rate the threshold can promise: the target, or 1/(n + 1) when that is higher."""
        return self.target_false_alarm if self.guaranteed else 1.0 / (self.n_good + 1)

    def explain(self) -> str:
        """The threshold in words people act on, not as a raw score."""
        seen = f"{100 * self.observed_false_alarm:.1f}% of {self.n_good} held-out good images scored above it"
        if self.guaranteed:
            return f"alarms on about {100 * self.target_false_alarm:.1f}% of good images ({seen})"
        need = int(np.ceil(1.0 / self.target_false_alarm - 1.0 - 1e-9))
        return (
            f"alarms on about {100 * self.expected_false_alarm:.1f}% of good images, not the "
            f"{100 * self.target_false_alarm:.1f}% asked: {self.n_good} held-out good images cannot set a rarer "
            f"alarm than 1 in {self.n_good + 1}, {need} are needed ({seen})"
        )


class PatchCore:
    """Patch-level nearest-neighbour anomaly scorer with a bounded coreset memory bank.

    The bank is built in rounds (PatchCore's greedy coreset, Roth et al. 2022 §3.2, made incremental so
    peak memory does not grow with the number of good photos): photos are taken in groups of at most
    ``buffer_size - coreset_size`` patches (one photo at least), whatever batches the caller passes;
    each group joins the patches held, and once the bank and the groups held reach ``buffer_size``
    patches they are reduced to a coreset of ``coreset_size``, which is the bank of the next round.
    So no k-center pass sees more than ``2 * buffer_size - coreset_size`` patches (``buffer_size``
    plus one photo's for a photo larger than a group), and the bank depends only on the photos, their
    order and the seed, not on how they were batched.

    Parameters
    ----------
    coreset_size : the most patches kept in the memory bank.
    buffer_size : patches gathered before each coreset reduction (bounds peak memory); the largest
        pool reduced is ``largest_pool_`` after ``fit``.
    projection_dim : random-projection width used for the greedy selection.
    seed : seeds the coreset start point and projection.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> good = rng.normal(size=(20, 4, 4, 8)).astype(np.float32)
    >>> pc = PatchCore(coreset_size=50, buffer_size=200).fit([good])
    >>> bad = good[:2].copy(); bad[:, 1, 1] += 10
    >>> s, maps = pc.score(np.r_[good[:2] + 0.01, bad])
    >>> bool(s[2:].min() > s[:2].max()), pc.bank_.shape, pc.largest_pool_ <= 2 * 200 - 50
    (True, (50, 8), True)
    """

    def __init__(
        self, *, coreset_size: int = 4000, buffer_size: int = 40000, projection_dim: int = 64, seed: int = 0
    ) -> None:
        if coreset_size < 1 or buffer_size < coreset_size:
            raise ValidationError("need 1 <= coreset_size <= buffer_size", where="PatchCore")
        self.coreset_size = coreset_size
        self.buffer_size = buffer_size
        self.projection_dim = projection_dim
        self.seed = seed

    def _groups(self, batches: Iterable[FloatArray]) -> Iterator[FloatArray]:
        """The patches of the photos in ``batches`` (each (n, H, W, D)) as (p, D) groups of whole photos,
        each at most ``buffer_size - coreset_size`` patches or one photo."""
        limit = self.buffer_size - self.coreset_size
        group: list[FloatArray] = []
        grouped = 0
        for b in batches:
            a = np.asarray(b, dtype=np.float32)
            per_photo = int(np.prod(a.shape[1:-1]))  # 1 for a (p, D) batch of single patches
            photos = a.reshape(len(a), per_photo, a.shape[-1])
            i = 0
            while i < len(photos):
                k = min(len(photos) - i, max(0, limit - grouped) // per_photo if per_photo else len(photos))
                if k == 0 and grouped == 0:
                    k = 1  # a photo larger than a group is a group of its own
                if k == 0:
                    yield np.concatenate(group) if len(group) > 1 else group[0]
                    group, grouped = [], 0
                    continue
                group.append(photos[i : i + k].reshape(-1, photos.shape[-1]))
                grouped += k * per_photo
                i += k
        if group:
            yield np.concatenate(group) if len(group) > 1 else group[0]

    def fit(self, batches: Iterable[FloatArray]) -> Self:
        """Build the memory bank in bounded rounds from batches of good-image patch features, each (n, H, W, D)."""
        rng = np.random.default_rng(self.seed)
        bank: FloatArray | None = None
        buf: list[FloatArray] = []
        held = 0
        self.n_patches_seen_ = 0
        self.largest_pool_ = 0

        def reduce() -> FloatArray:
            pool = np.concatenate(([bank] if bank is not None else []) + buf)
            self.largest_pool_ = max(self.largest_pool_, len(pool))
            return pool[greedy_coreset(pool, self.coreset_size, rng=rng, projection_dim=self.projection_dim)]

        for flat in self._groups(batches):
            self.n_patches_seen_ += len(flat)
            buf.append(flat)
            held += len(flat)
            if held >= self.buffer_size:
                bank = reduce()
                buf, held = [], len(bank)
        if buf or bank is None:
            if not buf and bank is None:
                raise ValidationError("no good-image patches to learn from", where="PatchCore")
            bank = reduce()
        self.bank_ = np.ascontiguousarray(bank)
        self._bank_sq = np.einsum("ij,ij->i", self.bank_, self.bank_)
        return self

    def score(self, patches: FloatArray, chunk: int = 4096) -> tuple[FloatArray, FloatArray]:
        """Image scores (max patch distance) and (n, H, W) patch-distance maps."""
        n, h, w, d = patches.shape
        if d != self.bank_.shape[1]:
            raise ValidationError(f"patch width {d} != memory bank width {self.bank_.shape[1]}", where="PatchCore")
        flat = patches.reshape(-1, d).astype(np.float32)
        out = np.empty(len(flat), dtype=np.float32)
        for s in range(0, len(flat), chunk):
            q = flat[s : s + chunk]
            d2 = np.einsum("ij,ij->i", q, q)[:, None] - 2 * q @ self.bank_.T + self._bank_sq[None, :]
            out[s : s + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
        maps = out.reshape(n, h, w)
        return maps.reshape(n, -1).max(axis=1), maps

    @staticmethod
    def threshold(good_scores: npt.ArrayLike, target_false_alarm: float = 0.01) -> AlarmThreshold:
        """The alarm threshold a new good image exceeds with probability at most ``target_false_alarm``
        (the (n + 1) rank of :class:`AlarmThreshold`; with too few held-out images it says it cannot)."""
        g = np.sort(np.asarray(good_scores, dtype=np.float64).ravel())
        if len(g) == 0:
            raise ValidationError("need held-out good images to set the alarm threshold", where="PatchCore")
        if not np.isfinite(g).all():
            raise ValidationError("held-out good-image scores contain NaN/inf", where="PatchCore")
        if not 0 < target_false_alarm < 1:
            raise ValidationError("target_false_alarm must be in (0, 1)", where="PatchCore")
        n = len(g)
        k = int(np.ceil((n + 1) * (1.0 - target_false_alarm) - 1e-9))  # 1-based rank; tolerance for 0.99 * 100
        value = float(g[min(k, n) - 1])
        observed = float(np.mean(g > value))
        return AlarmThreshold(value, target_false_alarm, observed, n, guaranteed=k <= n)
