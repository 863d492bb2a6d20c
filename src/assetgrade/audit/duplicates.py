"""Near-duplicates and train/test leakage: perceptual hashes (pHash) and embedding cosine similarity.

Two items are near-duplicates when their pHash Hamming distance is at most
``phash_max_distance`` bits of 64 (survives resizing and JPEG recompression; Zauner 2010) or
their embedding cosine similarity is at least ``min_cosine``. A near-duplicate pair split
across ``split`` values is leakage: the test score then measures memory, not skill. The same
asset id in two splits is leakage too, duplicate or not.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from assetgrade.audit.base import CheckResult, embeddings_or_none, register_check, skipped
from assetgrade.audit.data import AuditData
from assetgrade.audit.images import hamming_matrix, image_digests
from assetgrade.audit.params import Interval, SettingConstraint, validate_settings

__all__ = ["NearDuplicates", "near_duplicate_pairs"]


def near_duplicate_pairs(
    hashes: npt.NDArray[np.bool_] | None,
    emb: npt.NDArray[np.float64] | None,
    *,
    ok: npt.NDArray[np.bool_] | None = None,
    emb_ok: npt.NDArray[np.bool_] | None = None,
    phash_max_distance: int = 6,
    min_cosine: float = 0.98,
    chunk: int = 512,
) -> tuple[list[tuple[int, int, str, float]], npt.NDArray[np.float64]]:
    """Pairs (i < j, method, similarity) and each row's highest similarity to any other row (in [0, 1]).

    ``ok`` / ``emb_ok``: rows whose hash / embedding is real (False: the image failed or there is
    none), the others take no part. Embeddings are compared by cosine after centring on the
    valid rows' mean, and rows with identical embeddings are duplicates (similarity 1) even
    when centring leaves them at the mean (two items, or every item the same image).
    """
    n = len(hashes) if hashes is not None else (len(emb) if emb is not None else 0)
    best = np.zeros(n)
    pairs: dict[tuple[int, int], tuple[str, float]] = {}
    if hashes is not None:
        valid = np.ones(n, bool) if ok is None else ok
        for s in range(0, n, chunk):
            d = hamming_matrix(hashes[s : s + chunk], hashes).astype(np.float64)
            d[:, ~valid] = 64
            rows = np.arange(s, min(n, s + chunk))
            d[rows - s, rows] = 64
            d[~valid[rows]] = 64
            best[rows] = np.maximum(best[rows], 1.0 - d.min(axis=1) / 64.0)
            # the sentinel 64 alone would let failed rows pair at phash_max_distance 64: mask them out
            usable = valid[rows][:, None] & valid[None, :]
            for a, b in zip(*np.nonzero((d <= phash_max_distance) & usable), strict=True):
                i, j = int(rows[a]), int(b)
                if i < j:
                    pairs[(i, j)] = ("phash", 1.0 - d[a, b] / 64.0)
    if emb is not None:
        valid_e = np.ones(n, bool) if emb_ok is None else emb_ok
        if valid_e.any():
            same: dict[bytes, list[int]] = {}
            for row in np.flatnonzero(valid_e).tolist():
                same.setdefault(emb[row].tobytes(), []).append(row)
            for group in (g for g in same.values() if len(g) > 1):
                best[group] = 1.0
                for a_pos, first in enumerate(group):
                    for second in group[a_pos + 1:]:
                        pairs.setdefault((first, second), ("embedding", 1.0))
            # centred: pooled ReLU features are all positive, raw cosines all high
            emb = emb - emb[valid_e].mean(axis=0)
        norm = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        for s in range(0, n, chunk):
            sim = norm[s : s + chunk] @ norm.T
            rows = np.arange(s, min(n, s + chunk))
            sim[rows - s, rows] = -1.0
            sim[:, ~valid_e] = -1.0
            sim[~valid_e[rows]] = -1.0
            best[rows] = np.maximum(best[rows], np.clip(sim.max(axis=1), 0, 1))
            usable = valid_e[rows][:, None] & valid_e[None, :]  # the sentinel -1 is a pair at min_cosine -1
            for a, b in zip(*np.nonzero((sim >= min_cosine) & usable), strict=True):
                i, j = int(rows[a]), int(b)
                if i < j and (i, j) not in pairs:
                    pairs[(i, j)] = ("embedding", float(sim[a, b]))
    return [(i, j, m, s) for (i, j), (m, s) in sorted(pairs.items())], best


@register_check("duplicates")
class NearDuplicates:
    """Flags near-duplicate items; fails on any train/test leakage or too many duplicates.

    Parameters
    ----------
    phash_max_distance : pHash Hamming distance (of 64 bits) at or below which two images are near-duplicates.
    min_cosine : embedding cosine similarity at or above which two items are near-duplicates.
    max_duplicate_share : policy, the share of items in some near-duplicate pair (default 0.05).
    max_pairs_reported : how many pairs go into the info dict.

    Examples
    --------
    >>> NearDuplicates(phash_max_distance=4).phash_max_distance
    4
    """

    name = "duplicates"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {
        "phash_max_distance": Interval(0, 64, integer=True), "min_cosine": Interval(-1, 1),
        "max_duplicate_share": Interval(0, 1), "max_pairs_reported": Interval(0, None, integer=True)}

    def __init__(
        self,
        *,
        phash_max_distance: int = 6,
        min_cosine: float = 0.98,
        max_duplicate_share: float = 0.05,
        max_pairs_reported: int = 50,
    ) -> None:
        validate_settings(self.name, self._constraints, phash_max_distance=phash_max_distance, min_cosine=min_cosine,
                          max_duplicate_share=max_duplicate_share, max_pairs_reported=max_pairs_reported)
        self.phash_max_distance = phash_max_distance
        self.min_cosine = min_cosine
        self.max_duplicate_share = max_duplicate_share
        self.max_pairs_reported = max_pairs_reported

    def run(self, data: AuditData) -> CheckResult:
        dig = image_digests(data)
        emb = embeddings_or_none(data)
        if dig is None and emb is None:
            return skipped(self.name, data, "needs an image loader or embeddings")
        pairs, best = near_duplicate_pairs(
            dig.phashes if dig is not None else None,
            emb,
            ok=dig.ok if dig is not None else None,
            emb_ok=None if data.embeddings is None else np.asarray(np.isfinite(data.embeddings).all(axis=1)),
            phash_max_distance=self.phash_max_distance,
            min_cosine=self.min_cosine,
        )
        split = data.column("split")
        ids = data.column("item_id")
        assets = data.column("asset_id")
        flags = np.zeros(data.n, bool)
        leaks: list[dict[str, Any]] = []
        dups: list[dict[str, Any]] = []
        for i, j, method, sim in pairs:
            # synthetic copies of one asset are meant to be near its original: not a duplicate problem
            same_asset = assets[i] == assets[j]
            row = {"a": str(ids[i]), "b": str(ids[j]), "method": method, "similarity": round(sim, 4),
                   "split_a": str(split[i]), "split_b": str(split[j])}
            if split[i] != split[j]:
                leaks.append(row)
                flags[i] = flags[j] = True
            elif not same_asset:
                dups.append(row)
                flags[i] = flags[j] = True
        asset_splits: dict[str, set[str]] = {}
        for a, s in zip(assets, split, strict=True):
            asset_splits.setdefault(str(a), set()).add(str(s))
        split_assets = sorted(a for a, s in asset_splits.items() if len(s) > 1)
        share = float(flags.mean()) if data.n else 0.0
        passed = not leaks and not split_assets and share <= self.max_duplicate_share
        msg = (
            f"{len(dups)} near-duplicate pairs within splits, {len(leaks)} across splits (leakage), "
            f"{len(split_assets)} assets in more than one split; {share:.1%} of items flagged"
        )
        info = {
            "n_pairs": len(dups),
            "n_leakage_pairs": len(leaks),
            "leakage_pairs": leaks[: self.max_pairs_reported],
            "duplicate_pairs": dups[: self.max_pairs_reported],
            "assets_in_several_splits": split_assets[: self.max_pairs_reported],
            "n_assets_in_several_splits": len(split_assets),
            "image_errors": {str(ids[i]): e for i, e in (dig.errors.items() if dig is not None else [])},
        }
        return CheckResult(self.name, 1.0 - best, flags, 1.0 - share, passed, msg, info)
