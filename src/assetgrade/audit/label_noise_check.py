"""Label noise: probably-wrong labels by confident learning, wrapping ``assetgrade.review.label_noise``.

Uses the data's out-of-sample ``pred_probs`` when given, otherwise out-of-fold probabilities of
a linear probe on the embeddings (grouped by asset). Confident learning: C. G. Northcutt,
L. Jiang, I. L. Chuang, JAIR 70, 2021 (implemented in the review module).
"""

from __future__ import annotations

from typing import Any, ClassVar, get_args

import numpy as np
import numpy.typing as npt

from assetgrade.audit.base import CheckResult, embeddings_or_none, register_check, skipped
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import CV_SETTINGS, Flag, Interval, OneOf, SettingConstraint, validate_settings
from assetgrade.review.label_noise import Method, distribution_rows

__all__ = ["LabelNoise"]


@register_check("label_noise")
class LabelNoise:
    """Flags items whose label confident learning finds probably wrong; fails above ``max_noise_rate``.

    Parameters
    ----------
    max_noise_rate : policy on the estimated share of wrong labels (default 0.10).
    ordinal : classes (in ``AuditData.classes`` order) are ordered grades, best first.
    method : pruning rule passed to ``find_label_issues``.
    n_splits, seed : out-of-fold settings when the data carries no ``pred_probs``.

    Examples
    --------
    >>> LabelNoise(max_noise_rate=0.05).max_noise_rate
    0.05
    """

    name = "label_noise"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {
        "max_noise_rate": Interval(0, 1), "ordinal": Flag(), "method": OneOf(get_args(Method)), **CV_SETTINGS}

    def __init__(
        self,
        *,
        max_noise_rate: float = 0.10,
        ordinal: bool = False,
        method: str = "prune_by_noise_rate",
        n_splits: int = 5,
        seed: int = 0,
    ) -> None:
        validate_settings(self.name, self._constraints, max_noise_rate=max_noise_rate, ordinal=ordinal, method=method,
                          n_splits=n_splits, seed=seed)
        self.max_noise_rate = max_noise_rate
        self.ordinal = ordinal
        self.method = method
        self.n_splits = n_splits
        self.seed = seed

    def run(self, data: AuditData) -> CheckResult:
        from assetgrade.review.label_noise import find_label_issues

        classes = list(data.classes)
        index = {c: i for i, c in enumerate(classes)}
        labels = data.column("label")
        y = np.array([index.get(lab, -1) for lab in labels], dtype=np.int64)
        unknown = sorted({str(lab) for lab in labels if lab not in index})
        if not (y >= 0).any():
            return skipped(self.name, data, f"labels {unknown[:5]} not in classes {classes}")
        rows = np.flatnonzero(y >= 0)
        not_scored: dict[str, Any] = {}
        if unknown:
            not_scored["labels_outside_classes"] = {"labels": unknown[:20], "n_items": int((y < 0).sum())}
        probs = data.pred_probs
        source = data.pred_probs_source
        if probs is None:
            emb = embeddings_or_none(data)
            if emb is None:
                return skipped(self.name, data, "needs pred_probs or embeddings")
            assets = data.column("asset_id").astype(str)
            n_assets = {c: len(set(assets[rows][y[rows] == c])) for c in np.unique(y[rows])}
            learnable = [int(c) for c, k in n_assets.items() if k >= 2]
            if len(learnable) < 2:
                return skipped(self.name, data, "needs at least 2 classes whose items come from 2 or more assets"
                               " each (an asset's items are held out together)")
            few = [classes[int(c)] for c, k in n_assets.items() if k < 2]
            if few:
                not_scored["classes_from_one_asset"] = {
                    "classes": few[:20], "n_items": int(np.isin(y[rows], [index[c] for c in few]).sum())}
            rows = rows[np.isin(y[rows], learnable)]
            n_splits = min(self.n_splits, min(n_assets[c] for c in learnable))
            full, done = _out_of_fold(emb[rows], y[rows], assets[rows], n_splits, self.seed, len(classes))
            if (~done).any():
                not_scored["training_fold_with_one_class"] = {"n_items": int((~done).sum())}
            rows, probs_rows = rows[done], full[done]
            if len(np.unique(y[rows])) < 2:
                return skipped(self.name, data, "no cross-validation fold could score two classes")
            source = "out-of-fold linear probe on embeddings"
        else:
            # a row the grader could not fill (NaN, negative, all zero, not summing to 1) is left out by item
            p_rows = probs[rows]
            usable = distribution_rows(p_rows)
            if not usable.all():
                ids_bad = data.column("item_id")[rows[~usable]]
                not_scored["unusable_probabilities"] = {"item_ids": [str(i) for i in ids_bad[:20]],
                                                        "n_items": int((~usable).sum())}
            rows, probs_rows = rows[usable], p_rows[usable]
            if len(rows) == 0:
                return skipped(self.name, data, "no item has usable pred_probs (finite, non-negative, summing to 1)")
        res = find_label_issues(y[rows], probs_rows, method=self.method, ordinal=self.ordinal)  # type: ignore[arg-type]
        rate = float(np.clip(res.noise_rate, 0.0, 1.0))
        ids = data.column("item_id")
        top = [
            {"item_id": str(ids[rows[i]]), "label": classes[y[rows[i]]], "suggested": classes[res.suggested[i]],
             "score": float(res.scores[i])}
            for i in res.issue_indices()[:50]
        ]
        scores = np.ones(data.n)
        scores[rows] = np.clip(1.0 - res.scores, 0, 1)
        flags = np.zeros(data.n, bool)
        flags[rows] = res.flags
        passed = rate <= self.max_noise_rate
        n_not = data.n - len(rows)
        msg = (
            f"estimated label-noise rate {rate:.1%} (policy <= {self.max_noise_rate:.0%}); "
            f"{int(res.flags.sum())} flagged; probabilities: {source}"
            + (f"; {n_not} of {data.n} items not scored ({', '.join(not_scored)})" if n_not else "")
        )
        info = {"noise_rate": rate, "probs_from": source, "flagged": top, "ordinal": self.ordinal,
                "n_scored": len(rows), "not_scored": not_scored}
        return CheckResult(self.name, scores, flags, 1.0 - rate, passed, msg, info)


def _asset_folds(y: npt.NDArray[np.int64], assets: npt.NDArray[Any], n_splits: int, seed: int) -> npt.NDArray[np.int64]:
    """A fold number per item, an asset's items in one fold.

    Each class's (not yet placed) assets are dealt round-robin in a seeded order, continuing
    from the previous class, so a class with at least ``n_splits`` assets has assets in two or
    more folds and is therefore in every fold's training set.
    """
    rng = np.random.default_rng(seed)
    fold_of: dict[str, int] = {}
    nxt = 0
    for c in np.unique(y):
        for a in rng.permutation(sorted(set(assets[y == c].tolist()) - set(fold_of))):
            fold_of[str(a)] = nxt % n_splits
            nxt += 1
    return np.array([fold_of[str(a)] for a in assets], dtype=np.int64)


def _out_of_fold(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], assets: npt.NDArray[Any], n_splits: int, seed: int,
    n_classes: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Out-of-fold class probabilities under asset-grouped folds, and which rows got them.

    The probe is that of ``assetgrade.review.label_noise.out_of_fold_probs`` (standardise, L2
    logistic regression with C = 0.1); a class missing from a fold's training items gets
    probability 0 there, and a fold whose training items hold one class only is not scored.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = _asset_folds(y, assets, n_splits, seed)
    out = np.zeros((len(y), n_classes))
    done = np.zeros(len(y), bool)
    for f in range(n_splits):
        te = folds == f
        tr = ~te
        if not te.any() or len(np.unique(y[tr])) < 2:
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x[tr], y[tr])
        out[np.ix_(np.flatnonzero(te), np.asarray(model.classes_, dtype=np.int64))] = model.predict_proba(x[te])
        done[te] = True
    return out, done
