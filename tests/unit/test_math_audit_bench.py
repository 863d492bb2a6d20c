"""Leakage and reporting checks of the benchmark harnesses (math audit of src/assetgrade/bench)."""

from __future__ import annotations

import numpy as np

from assetgrade.bench.vision import asset_folds
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.store.records import ImageRef


def _ref(eid: str, sha: str) -> ImageRef:
    return ImageRef(eid, sha, lambda: b"")


def test_asset_folds_keep_an_asset_whole_when_it_shares_a_file_with_another_asset() -> None:
    """Asset a0's first photo is a byte copy of a photo of asset a7: the copy must share a7's fold, and
    so must the rest of a0 -- moving only the copy put a0's other photos in another fold (train and
    test held the same asset)."""
    n_assets, per = 12, 3
    refs, labels, groups = [], [], []
    for a in range(n_assets):
        for j in range(per):
            sha = "a7-0" if (a, j) == (0, 0) else f"a{a}-{j}"
            refs.append(_ref(f"a{a}/{j}", sha))
            labels.append("bad" if a % 2 else "good")
            groups.append(f"a{a}")
    ds = LabelledImages(name="toy", refs=refs, labels=labels, classes=("good", "bad"), groups=groups)
    y = np.array([ds.classes.index(lab) for lab in labels], dtype=np.int64)
    for seed in range(10):
        folds = asset_folds(ds, y, 3, seed)
        for tr, te in folds:
            train_assets = {groups[i] for i in tr}
            test_assets = {groups[i] for i in te}
            assert not train_assets & test_assets, (seed, train_assets & test_assets)
            train_shas = {refs[i].sha256 for i in tr}
            assert not train_shas & {refs[i].sha256 for i in te}
