"""Leakage and reporting checks of the benchmark harnesses (math audit of src/assetgrade/bench)."""

from __future__ import annotations

import numpy as np

from assetgrade.bench.active import ActiveConfig, run_active_bench
from assetgrade.bench.review_data import ReviewData, project_features
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


def _outlying_test_rows(seed: int = 0) -> tuple[ReviewData, np.ndarray]:
    """Two classes told apart by feature 0 (+-1 with noise 0.3); 20 noise features. The rows the
    active bench holds out (its own seeded 25 % split) carry feature 0 at +-1000: a scaler or PCA
    fitted on them squashes the pool's signal below the noise."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    n = 200
    y = np.repeat([0, 1], n // 2)
    raw = rng.normal(0, 1, size=(n, 21))
    raw[:, 0] = np.where(y == 1, 1.0, -1.0) + rng.normal(0, 0.3, n)
    _, test = train_test_split(np.arange(n), test_size=0.25, stratify=y, random_state=seed)
    raw[test, 0] *= 1000.0
    X = project_features(raw, None, 4, seed)  # what load_review_data gives: every row fitted
    data = ReviewData(name="toy", X=X, y=y.astype(np.int64), classes=("a", "b"), ordinal=False, raw=raw,
                      pca_dim=4, pca_seed=seed)
    return data, np.sort(test)


def test_active_bench_fits_scaler_and_pca_on_the_pool_only() -> None:
    """bench active's held-out test rows must not shape the features: with standardisation and PCA
    fitted on every image (test rows included) the pool's class signal vanished here and full-data
    accuracy fell to chance; fitted on the pool alone it is near 1."""
    data, test = _outlying_test_rows()
    cfg = ActiveConfig(dataset="toy", batch=10, repeats=1, strategies=("random",), max_labels=20, progress=False)
    res = run_active_bench(cfg, data=data)
    assert res.metrics["full_data_accuracy"] > 0.95
    pool = np.setdiff1d(np.arange(len(data.y)), test)
    Xp = data.projected(pool).X
    assert np.allclose(Xp[pool].mean(axis=0), 0.0, atol=1e-9)  # centred on the pool, not on all rows
    moved = data.raw.copy()  # type: ignore[union-attr]
    moved[test] += 50.0
    again = ReviewData(name="toy", X=data.X, y=data.y, classes=data.classes, ordinal=False, raw=moved, pca_dim=4)
    assert np.allclose(again.projected(pool).X[pool], Xp[pool])  # pool features ignore the test rows


def test_vision_metrics_use_the_shared_qwk_and_log_loss() -> None:
    """bench vision's QWK was scikit-learn's cohen_kappa_score; it is the shared definition (bench fusion,
    evaluate), which since 2 Dec 2026 gives NaN wherever every item has one true grade (kappa is 0 for any
    mistake and 0 / 0 for none there: it measures nothing), as scikit-learn did for a perfect one."""
    from assetgrade.bench.vision import classification_metrics
    from assetgrade.decision.metrics import quadratic_weighted_kappa
    from assetgrade.fusion.calibration import negative_log_likelihood

    y = np.array([1, 1, 1], dtype=np.int64)
    p = np.array([[0.1, 0.8, 0.1]] * 3)
    assert np.isnan(classification_metrics(y, p, ordinal=True, n_classes=3)["qwk"])
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 60).astype(np.int64)
    p = rng.dirichlet(np.ones(4), 60)
    m = classification_metrics(y, p, ordinal=True, n_classes=4)
    assert m["qwk"] == quadratic_weighted_kappa(y, p.argmax(axis=1), 4)
    assert m["log_loss"] == negative_log_likelihood(p, y)


def _memorisable_assets(seed: int = 0) -> ReviewData:
    """60 assets of 4 photos each with one random feature vector per asset (200 dims) and a random
    grade per asset: nothing generalises, so an asset's grade can be read on the test split only
    from its own photos in the pool."""
    rng = np.random.default_rng(seed)
    n_assets, per = 60, 4
    asset_y = np.repeat([0, 1], n_assets // 2)
    centres = rng.normal(0, 1, size=(n_assets, 200))
    a = np.repeat(np.arange(n_assets), per)
    X = centres[a] + rng.normal(0, 0.01, size=(len(a), 200))
    return ReviewData(name="toy", X=X, y=asset_y[a].astype(np.int64), classes=("a", "b"), ordinal=False,
                      ids=tuple(f"img{i}" for i in range(len(a))), groups=tuple(f"asset{k}" for k in a))


def test_active_bench_holds_out_whole_assets() -> None:
    """bench active split by image: an asset's other photos in the pool taught its grade (full-data
    accuracy 1.0 on grades that are pure noise); split by asset it is near chance."""
    cfg = ActiveConfig(dataset="toy", batch=10, repeats=1, strategies=("random",), max_labels=20, progress=False)
    res = run_active_bench(cfg, data=_memorisable_assets())
    assert res.metrics["full_data_accuracy"] < 0.8
    assert "asset" in res.split


def test_holdout_by_unit_keeps_units_whole_and_matches_the_plain_split() -> None:
    from sklearn.model_selection import train_test_split

    from assetgrade.bench.splits import holdout_by_unit, linked_assets

    y = np.repeat([0, 1], 40).astype(np.int64)
    tr, te = holdout_by_unit(y, [f"u{i}" for i in range(80)], 0.25, 3)
    ref_tr, ref_te = train_test_split(np.arange(80), test_size=0.25, stratify=y, random_state=3)
    assert tr.tolist() == sorted(ref_tr.tolist()) and te.tolist() == sorted(ref_te.tolist())
    units = linked_assets([f"a{i // 2}" for i in range(80)], [f"s{i}" if i != 5 else "s40" for i in range(80)])
    tr, te = holdout_by_unit(y, units.tolist(), 0.25, 3)
    assert not set(units[tr]) & set(units[te])
    assert units[5] == units[40] == units[41] == units[4]  # a2 and a20 linked by the shared file


def test_fidelity_real_split_keeps_identical_files_on_one_side() -> None:
    """bench fidelity split NEU by image: its pair of identical files (patches_101/105) landed on both
    sides for many seeds, a test image then trained on (and drawn as a synthetic parent)."""
    from assetgrade.bench.fidelity import real_split

    classes = ("crazing", "patches")
    refs = [_ref(f"{c}_{i}", f"{c}-{i}" if i != 5 else f"{c}-1") for c in classes for i in range(20)]
    ds = LabelledImages(name="toy", refs=refs, labels=[c for c in classes for _ in range(20)], classes=classes)
    for seed in range(20):
        tr, te = real_split(ds, 0.3, seed)
        assert sorted(tr.tolist() + te.tolist()) == list(range(40))
        assert not {refs[i].sha256 for i in tr} & {refs[i].sha256 for i in te}, seed
