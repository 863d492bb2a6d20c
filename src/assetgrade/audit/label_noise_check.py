"""Label noise: probably-wrong labels by confident learning, wrapping ``assetgrade.review.label_noise``.

Uses the data's out-of-sample ``pred_probs`` when given, otherwise out-of-fold probabilities of
a linear probe on the embeddings (grouped by asset). Confident learning: C. G. Northcutt,
L. Jiang, I. L. Chuang, JAIR 70, 2021 (implemented in the review module).
"""

from __future__ import annotations

from typing import ClassVar, get_args

import numpy as np

from assetgrade.audit.base import CheckResult, embeddings_or_none, register_check, skipped
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import CV_SETTINGS, Flag, Interval, OneOf, SettingConstraint, validate_settings
from assetgrade.review.label_noise import Method

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
        from assetgrade.review.label_noise import find_label_issues, out_of_fold_probs

        classes = list(data.classes)
        index = {c: i for i, c in enumerate(classes)}
        labels = data.column("label")
        unknown = sorted({str(lab) for lab in labels if lab not in index})
        if unknown:
            return skipped(self.name, data, f"labels {unknown[:5]} not in classes {classes}")
        y = np.array([index[lab] for lab in labels], dtype=np.int64)
        probs = data.pred_probs
        source = data.pred_probs_source
        if probs is None:
            emb = embeddings_or_none(data)
            if emb is None:
                return skipped(self.name, data, "needs pred_probs or embeddings")
            counts = np.bincount(y, minlength=len(classes))
            if (counts[counts > 0] < 2).any() or (counts > 0).sum() < 2:
                return skipped(self.name, data, "needs at least 2 classes with 2 items each")
            n_splits = int(max(2, min(self.n_splits, counts[counts > 0].min())))
            probs = out_of_fold_probs(
                emb, y, n_splits=n_splits, groups=list(data.column("asset_id")), seed=self.seed,
                n_classes=len(classes),
            )
            source = "out-of-fold linear probe on embeddings"
        res = find_label_issues(y, probs, method=self.method, ordinal=self.ordinal)  # type: ignore[arg-type]
        rate = float(np.clip(res.noise_rate, 0.0, 1.0))
        ids = data.column("item_id")
        top = [
            {"item_id": str(ids[i]), "label": classes[y[i]], "suggested": classes[res.suggested[i]],
             "score": float(res.scores[i])}
            for i in res.issue_indices()[:50]
        ]
        passed = rate <= self.max_noise_rate
        msg = (
            f"estimated label-noise rate {rate:.1%} (policy <= {self.max_noise_rate:.0%}); "
            f"{int(res.flags.sum())} flagged; probabilities: {source}"
        )
        info = {"noise_rate": rate, "probs_from": source, "flagged": top, "ordinal": self.ordinal}
        return CheckResult(self.name, np.clip(1.0 - res.scores, 0, 1), res.flags, 1.0 - rate, passed, msg, info)
