"""Shared input of the review benchmarks: a labelled image set and its cached, PCA-reduced backbone features."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.errors import ValidationError

__all__ = ["ReviewData", "load_labelled", "load_review_data", "project_features"]


def load_labelled(
    dataset: str, data_dir: Path | None, *, per_class: int | None = None, seed: int = 0
) -> LabelledImages:
    """ELPV, NEU or an image folder (``DIR/<class>/<images>``); ``per_class`` keeps a seeded sample per class."""
    if dataset == "elpv":
        from assetgrade.datasets.elpv import load_elpv

        ds = load_elpv(data_dir)
    elif dataset == "neu":
        from assetgrade.datasets.neu import load_neu

        ds = load_neu(data_dir)
    elif dataset == "folder":
        from assetgrade.datasets.image_folder import load_image_folder

        if data_dir is None:
            raise ValidationError("--dataset folder needs --data-dir DIR (DIR/<class>/<images>)", where="--data-dir")
        ds = load_image_folder(data_dir)
    else:
        raise ValidationError(f"unknown dataset {dataset!r}; allowed: elpv, neu, folder", where="--dataset")
    if per_class:
        rng = np.random.default_rng(seed)
        idx: list[int] = []
        for c in ds.classes:
            members = [i for i, lab in enumerate(ds.labels) if lab == c]
            idx += rng.permutation(members)[:per_class].tolist()
        ds = ds.subset(sorted(idx))
    return ds


@dataclass
class ReviewData:
    """Features (standardised, PCA-reduced), integer labels and the set they came from.

    Examples
    --------
    >>> rd = ReviewData(name="demo", X=np.zeros((2, 3)), y=np.array([0, 1]), classes=("a", "b"), ordinal=False)
    >>> rd.n_classes
    2
    """

    name: str
    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    classes: tuple[str, ...]
    ordinal: bool
    ids: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    shas: tuple[str, ...] = ()
    """Content hash per image (identical files are kept on one side of a split); empty: not known."""
    dropped: int = 0
    """Images that could not be decoded (left out, with their errors in the benchmark output)."""
    feature_key: str = ""
    raw: npt.NDArray[np.float64] | None = None
    """The pooled features before standardisation and PCA (None: ``X`` is all there is), so that a
    benchmark with a held-out split can fit both on its training rows alone (:func:`project_features`)."""
    pca_dim: int = 0
    pca_seed: int = 0

    def projected(self, fit_rows: npt.NDArray[np.int64]) -> ReviewData:
        """A copy whose ``X`` is ``raw`` standardised and PCA-reduced with statistics of ``fit_rows`` only
        (every row transformed); itself when there is no ``raw``."""
        if self.raw is None:
            return self
        from dataclasses import replace

        return replace(self, X=project_features(self.raw, fit_rows, self.pca_dim, self.pca_seed))

    @property
    def n_classes(self) -> int:
        """How many classes."""
        return len(self.classes)


def project_features(
    raw: npt.NDArray[np.float64], fit_rows: npt.NDArray[np.int64] | None, pca_dim: int, seed: int
) -> npt.NDArray[np.float64]:
    """``raw`` standardised, PCA-reduced to ``pca_dim`` and scaled so the first component has unit standard
    deviation, every statistic (means, scales, components) taken from ``fit_rows`` alone (None: all rows).

    A held-out test row then never shapes the features the model is trained on; with ``fit_rows``
    None (every row fitted) the result is the transductive projection the label-noise bench uses.
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    if fit_rows is None:  # fit_transform: the figures measured before the split-aware path, to the last digit
        fit = np.arange(len(raw))
        X = StandardScaler().fit_transform(raw)
        if 0 < pca_dim < min(X.shape):
            X = PCA(pca_dim, random_state=seed).fit_transform(X)
    else:
        fit = np.asarray(fit_rows, dtype=np.int64)
        X = StandardScaler().fit(raw[fit]).transform(raw)
        if 0 < pca_dim < min(len(fit), X.shape[1]):
            X = PCA(pca_dim, random_state=seed).fit(X[fit]).transform(X)
    if 0 < pca_dim < min(len(fit), raw.shape[1]):
        X /= X[fit, 0].std() + 1e-12  # keep the logistic head's regularisation on a fixed scale
    return np.asarray(X, dtype=np.float64)


def load_review_data(
    dataset: str,
    data_dir: Path | None = None,
    *,
    per_class: int | None = None,
    seed: int = 0,
    pca_dim: int = 128,
    backbone: str = "lite0",
    image_size: int = 224,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> ReviewData:
    """Pooled EfficientNet-Lite features from the vision feature cache, standardised and PCA-reduced.

    ``X`` is standardised and PCA-reduced over every image's features, without labels (the
    label-noise bench audits all of them); ``raw`` keeps the features before that, so a bench
    with a held-out split fits both on its training rows only (:meth:`ReviewData.projected`, as
    the active-learning bench does). PCA keeps the per-round heads of the active-learning
    simulation fast on a small CPU.
    """
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir
    from assetgrade.modalities.vision.cache import FeatureCache
    from assetgrade.modalities.vision.features import extract_pooled

    ds = load_labelled(dataset, data_dir, per_class=per_class, seed=seed)
    root = cache_dir or default_cache_dir()
    bb = Backbone(backbone, image_size=image_size, cache_dir=root / "onnx")
    fb = extract_pooled(ds.refs, bb, cache=FeatureCache(root / "features"), progress=progress)
    ok = np.array([i not in fb.errors and np.all(np.isfinite(fb.features[i])) for i in range(ds.n_images)])
    raw = fb.features[ok].astype(np.float64)
    X = project_features(raw, None, pca_dim, seed)
    y = np.array([ds.classes.index(lab) for lab, keep in zip(ds.labels, ok, strict=True) if keep], dtype=np.int64)
    ids = tuple(r.evidence_id for r, keep in zip(ds.refs, ok, strict=True) if keep)
    groups = tuple(g for g, keep in zip(ds.asset_ids(), ok, strict=True) if keep)
    shas = tuple(r.sha256 for r, keep in zip(ds.refs, ok, strict=True) if keep)
    return ReviewData(
        name=ds.name,
        X=X,
        y=y,
        classes=ds.classes,
        ordinal=ds.ordinal,
        ids=ids,
        groups=groups,
        shas=shas,
        dropped=int((~ok).sum()),
        feature_key=bb.key,
        raw=raw,
        pca_dim=pca_dim,
        pca_seed=seed,
    )
