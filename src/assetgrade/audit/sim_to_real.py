"""Sim-to-real gap: accuracy on real test items of a probe trained on synthetic/augmented items vs one trained on real.

Real items are split into grouped, stratified folds (by asset); for each fold three probes are
trained on the embeddings of (a) the real items outside the fold, (b) the synthetic and
augmented items whose asset is outside the fold, (c) both, and all are tested on the fold's
real items. The gap is accuracy(a) - accuracy(b): how much of what the synthetic data teaches
transfers to real data (J. Tobin et al., "Domain randomization for transferring deep neural
networks from simulation to the real world", IROS 2017, measure the same drop).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from assetgrade.audit._cv import fit_probe, grouped_folds
from assetgrade.audit.base import CheckResult, embeddings_or_none, register_check, skipped
from assetgrade.audit.data import AuditData
from assetgrade.audit.params import CV_SETTINGS, Interval, SettingConstraint, validate_settings

__all__ = ["SimToRealGap"]


@register_check("sim_to_real")
class SimToRealGap:
    """Real-test accuracy of synthetic-trained vs real-trained probes; fails when the drop exceeds ``max_gap``.

    Parameters
    ----------
    max_gap : policy on accuracy(real-trained) - accuracy(synthetic-trained), default 0.10.
    n_splits, seed : grouped CV over the real items.

    Examples
    --------
    >>> SimToRealGap(max_gap=0.05).max_gap
    0.05
    """

    name = "sim_to_real"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {"max_gap": Interval(0, 1), **CV_SETTINGS}

    def __init__(self, *, max_gap: float = 0.10, n_splits: int = 5, seed: int = 0) -> None:
        validate_settings(self.name, self._constraints, max_gap=max_gap, n_splits=n_splits, seed=seed)
        self.max_gap = max_gap
        self.n_splits = n_splits
        self.seed = seed

    def run(self, data: AuditData) -> CheckResult:
        emb = embeddings_or_none(data)
        if emb is None:
            return skipped(self.name, data, "needs embeddings")
        real = np.flatnonzero(data.is_real)
        syn = np.flatnonzero(~data.is_real)
        labels = data.column("label")
        assets = data.column("asset_id")
        if len(syn) < 2 or len(np.unique(labels[syn])) < 2:
            return skipped(self.name, data, "needs synthetic/augmented items of at least 2 classes")
        if len(np.unique(labels[real])) < 2:
            return skipped(self.name, data, "needs real items of at least 2 classes")
        pred = {k: np.full(data.n, None, dtype=object) for k in ("real", "synthetic", "mixed")}
        for tr, te in grouped_folds(labels[real], assets[real], self.n_splits, self.seed):
            test = real[te]
            test_assets = set(assets[test])
            syn_tr = syn[[a not in test_assets for a in assets[syn]]]
            train_sets = {"real": real[tr], "synthetic": syn_tr, "mixed": np.concatenate([real[tr], syn_tr])}
            for k, idx in train_sets.items():
                if len(np.unique(labels[idx])) < 2:
                    continue
                model = fit_probe(emb[idx], labels[idx], 1.0, self.seed)
                pred[k][test] = model.predict(emb[test])
        # all three accuracies on the same real items: those the real- and the synthetic-trained probes both
        # predicted (a fold whose synthetic training items hold one class trains no synthetic probe)
        done = real[(pred["real"][real] != None) & (pred["synthetic"][real] != None)]  # noqa: E711
        if not len(done):
            return skipped(self.name, data, "no cross-validation fold had synthetic/augmented training items of 2"
                           " or more classes outside its test assets")
        acc: dict[str, float] = {}
        per_class: dict[str, dict[str, float]] = {}
        for k, p in pred.items():
            acc[k] = float(np.mean(p[done] == labels[done]))
            per_class[k] = {
                str(c): float(np.mean(p[done][labels[done] == c] == c)) for c in np.unique(labels[done])
            }
        gap = acc["real"] - acc["synthetic"]
        correct_real = pred["real"] == labels
        wrong_syn = pred["synthetic"] != labels
        flags = data.is_real & correct_real & wrong_syn & (pred["synthetic"] != None)  # noqa: E711
        scores = np.where(flags, 0.0, 1.0)
        # the share of real-trained accuracy that synthetic training keeps (1 when real training gets nothing right)
        summary = float(np.clip(acc["synthetic"] / acc["real"], 0, 1)) if acc["real"] > 0 else 1.0
        passed = bool(np.isfinite(gap) and gap <= self.max_gap)
        info: dict[str, Any] = {
            "accuracy_real_to_real": acc["real"],
            "accuracy_synthetic_to_real": acc["synthetic"],
            "accuracy_mixed_to_real": acc["mixed"],
            "gap": gap,
            "per_class_accuracy": per_class,
            "n_real": len(real),
            "n_real_compared": len(done),
            "n_synthetic": len(syn),
        }
        msg = (
            f"real->real {acc['real']:.3f}, synthetic->real {acc['synthetic']:.3f}, gap {gap:+.3f} "
            f"(policy <= {self.max_gap}); real+synthetic->real {acc['mixed']:.3f}"
        )
        return CheckResult(self.name, scores, flags, summary, passed, msg, info)
