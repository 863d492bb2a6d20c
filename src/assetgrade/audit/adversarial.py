"""Adversarial validation: can a classifier tell synthetic/augmented items from real ones? Plus shortcut detection.

A linear probe on the embeddings is trained to separate non-real from real items under
grouped CV (an item and its synthetic copies share an asset, so they stay in one fold); its
out-of-fold ROC AUC near 0.5 means the synthetic data is indistinguishable, near 1 means the
model can learn "is synthetic" instead of the defect. Shortcut detection tests simple image
statistics (brightness, contrast, sharpness, size) one by one and together, and correlates
the probe's score with each, naming what the separation rests on (J. Pan et al., "Adversarial
validation approach to concept drift problem in user targeting automation systems at Uber",
arXiv:2004.03045, 2020; R. Geirhos et al., "Shortcut learning in deep neural networks", Nature MI 2020).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from assetgrade.audit._cv import fit_probe, oof_proba
from assetgrade.audit.base import CheckResult, embeddings_or_none, register_check, skipped
from assetgrade.audit.data import AuditData
from assetgrade.audit.images import STAT_NAMES, image_digests
from assetgrade.audit.params import CV_SETTINGS, Interval, SettingConstraint, validate_settings

__all__ = ["AdversarialValidation", "auc", "auc_p_value"]


def auc(y: npt.NDArray[Any], score: npt.NDArray[np.float64]) -> float:
    """ROC AUC (Mann-Whitney U / (n1 n0)), ties counted half; NaN scores are dropped."""
    ok = np.isfinite(score)
    y, score = np.asarray(y)[ok].astype(bool), score[ok]
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = sps.rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_p_value(a: float, n1: int, n0: int) -> float:
    """One-sided p-value of an AUC this far above 0.5 when the two groups do not differ.

    The null distribution of the Mann-Whitney U (AUC = U / (n1 n0)) in its normal approximation:
    mean 0.5, variance (n1 + n0 + 1) / (12 n1 n0) (ties ignored, which errs on the safe side).
    Out-of-fold scores of a cross-validated probe are not quite independent, so this is a guard
    against chance on small samples, not an exact test. NaN in, NaN out.

    >>> round(auc_p_value(1.0, 2, 2), 3), round(auc_p_value(0.55, 500, 500), 4)
    (0.061, 0.0031)
    """
    if not np.isfinite(a) or n1 < 1 or n0 < 1:
        return float("nan")
    se = np.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    return float(sps.norm.sf((a - 0.5) / se))


@register_check("adversarial")
class AdversarialValidation:
    """Out-of-fold AUC of a real-vs-synthetic probe on embeddings (and image statistics); high AUC fails.

    Parameters
    ----------
    max_auc : policy, the check fails when the AUC is above this (default 0.75) and significantly above 0.5.
    shortcut_auc : an image statistic whose own AUC (either direction) reaches this, significantly, is reported
        as a shortcut.
    alpha : significance level (default 0.05): the AUC must be above 0.5 with p < alpha to fail the check,
        a statistic with p < alpha / 7 (Bonferroni over the seven statistics) to count as a shortcut. Small
        samples reach high AUCs by chance: with 2 synthetic items among 20 real ones, a third of indistinguishable
        sets had an AUC above 0.75.
    n_permutations : when the AUC is above ``max_auc`` and the smaller side has fewer than ``exact_below``
        items, where the normal approximation of :func:`auc_p_value` is loose (out-of-fold scores are not
        independent: with 5 synthetic items among 200 real ones it failed 7.7 % of indistinguishable sets at
        alpha 0.05), the p-value is taken from a permutation test instead: the whole cross-validation re-run
        on up to this many random relabellings (0: never).
    exact_below : see ``n_permutations``.
    flag_confidence : synthetic items the probe calls synthetic with at least this probability are flagged.
    n_splits, seed : grouped cross-validation settings.
    top_k : how many most-confidently-synthetic items and embedding dimensions to report.

    Examples
    --------
    >>> AdversarialValidation(max_auc=0.8).max_auc
    0.8
    """

    name = "adversarial"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {
        "max_auc": Interval(0.5, 1), "shortcut_auc": Interval(0.5, 1), "flag_confidence": Interval(0, 1),
        **CV_SETTINGS, "top_k": Interval(0, None, integer=True), "alpha": Interval(1e-6, 1),
        "n_permutations": Interval(0, 100_000, integer=True), "exact_below": Interval(0, None, integer=True)}

    def __init__(
        self,
        *,
        max_auc: float = 0.75,
        shortcut_auc: float = 0.7,
        flag_confidence: float = 0.9,
        n_splits: int = 5,
        seed: int = 0,
        top_k: int = 10,
        alpha: float = 0.05,
        n_permutations: int = 99,
        exact_below: int = 50,
    ) -> None:
        validate_settings(self.name, self._constraints, max_auc=max_auc, shortcut_auc=shortcut_auc,
                          flag_confidence=flag_confidence, n_splits=n_splits, seed=seed, top_k=top_k, alpha=alpha,
                          n_permutations=n_permutations, exact_below=exact_below)
        self.n_permutations = n_permutations
        self.exact_below = exact_below
        self.alpha = alpha
        self.max_auc = max_auc
        self.shortcut_auc = shortcut_auc
        self.flag_confidence = flag_confidence
        self.n_splits = n_splits
        self.seed = seed
        self.top_k = top_k

    def _permutation_p(self, x: npt.NDArray[Any], y: npt.NDArray[np.int64], groups: npt.NDArray[Any],
                       observed: float) -> tuple[float, int]:
        """(p-value, relabellings run) of an out-of-fold AUC this high when origin says nothing about the items.

        Each relabelling shuffles which items count as synthetic and re-runs the same grouped
        cross-validation, so the dependence between out-of-fold scores is in the null distribution
        too; p = (1 + #{AUC >= observed}) / (1 + relabellings) (Phipson & Smyth 2010). It stops as soon
        as p cannot fall below ``alpha`` any more: once (1 + hits) / (1 + n_permutations) >= alpha, the
        p-value after all relabellings would be at least that (Besag & Clifford 1991, sequential
        Monte Carlo p-values), so the decision is the one the full run would give.
        """
        rng = np.random.default_rng(self.seed)
        hits = runs = 0
        for _ in range(self.n_permutations):
            yp = rng.permutation(y)
            a = auc(yp, oof_proba(x, yp, groups, n_splits=self.n_splits, seed=self.seed))
            runs += 1
            hits += bool(np.isfinite(a) and a >= observed)
            if (1 + hits) / (1 + self.n_permutations) >= self.alpha:  # p >= alpha whatever follows
                break
        return (1 + hits) / (1 + runs), runs

    def run(self, data: AuditData) -> CheckResult:
        y = (~data.is_real).astype(np.int64)
        if y.sum() < 2 or (1 - y).sum() < 2:
            return skipped(self.name, data, "needs at least 2 real and 2 synthetic/augmented items")
        groups = data.column("asset_id")
        for what, side in (("real", y == 0), ("synthetic/augmented", y == 1)):
            if len(np.unique(groups[side])) < 2:
                # grouped CV keeps an asset in one fold: with one asset a side, no fold trains on that side
                return skipped(self.name, data, f"the {what} items come from fewer than 2 assets; grouped"
                               " cross-validation needs 2 or more")
        emb = embeddings_or_none(data)
        dig = image_digests(data)
        st = None
        if dig is not None and dig.ok.any():
            st = dig.stats.copy()
            col_mean = np.nanmean(st, axis=0)
            st[~dig.ok] = col_mean
        x = emb if emb is not None else st
        if x is None:
            return skipped(self.name, data, "needs embeddings or an image loader")
        info: dict[str, Any] = {"features": "embeddings" if emb is not None else "image statistics"}
        p = oof_proba(x, y, groups, n_splits=self.n_splits, seed=self.seed)
        score_auc = auc(y, p)
        if not np.isfinite(score_auc):
            return skipped(self.name, data, "no cross-validation fold could score both real and synthetic/augmented"
                           " items (too few assets on one side)")
        info["auc"] = score_auc
        scored = np.isfinite(p)
        n1, n0 = int(y[scored].sum()), int((1 - y[scored]).sum())
        info["auc_p_value"] = info["auc_p_value_normal"] = auc_p_value(score_auc, n1, n0)
        info["p_value_method"] = "normal approximation"
        if score_auc > self.max_auc and min(n1, n0) < self.exact_below and self.n_permutations > 0:
            info["auc_p_value"], info["permutations"] = self._permutation_p(x, y, groups, score_auc)
            info["p_value_method"] = "permutation"
        info["n_real"], info["n_nonreal"] = int((1 - y).sum()), int(y.sum())
        if emb is not None:
            model = fit_probe(emb, y, 1.0, self.seed)
            coef = np.abs(model[-1].coef_[0])
            top = np.argsort(-coef)[: self.top_k]
            info["top_embedding_dims"] = [{"dim": int(d), "abs_coef": float(coef[d])} for d in top]
        shortcuts: list[dict[str, Any]] = []
        if st is not None:
            per_stat = []
            n1s, n0s = int(y.sum()), int((1 - y).sum())
            for j, sname in enumerate(STAT_NAMES):
                a = auc(y, st[:, j])
                sep = max(a, 1 - a) if np.isfinite(a) else float("nan")
                p_two = min(1.0, 2 * auc_p_value(sep, n1s, n0s)) if np.isfinite(sep) else float("nan")
                rho = float(sps.spearmanr(st[:, j], p, nan_policy="omit")[0]) if np.nanstd(st[:, j]) > 0 else 0.0
                row = {
                    "stat": sname,
                    "auc": a,
                    "separation": sep,
                    "direction": "higher in synthetic" if a >= 0.5 else "lower in synthetic",
                    "mean_real": float(np.nanmean(st[y == 0, j])),
                    "mean_nonreal": float(np.nanmean(st[y == 1, j])),
                    "spearman_with_probe": rho,
                    "p_value": p_two,
                }
                per_stat.append(row)
                if np.isfinite(sep) and sep >= self.shortcut_auc and p_two < self.alpha / len(STAT_NAMES):
                    shortcuts.append(row)
            shortcuts.sort(key=lambda r: -float(r["separation"]))
            info["image_stats"] = per_stat
            if emb is not None:
                info["stats_only_auc"] = auc(y, oof_proba(st, y, groups, n_splits=self.n_splits, seed=self.seed))
        info["shortcuts"] = shortcuts
        ids = data.column("item_id")
        syn = np.flatnonzero((y == 1) & np.isfinite(p))
        most = syn[np.argsort(-p[syn], kind="stable")][: self.top_k]
        info["most_synthetic_looking"] = [{"item_id": str(ids[i]), "p_synthetic": float(p[i])} for i in most]
        scores = np.where(y == 1, 1.0 - np.nan_to_num(p, nan=0.5), 1.0)
        flags = (y == 1) & (np.nan_to_num(p, nan=0.0) >= self.flag_confidence)
        summary = 1.0 - 2.0 * abs(score_auc - 0.5) if np.isfinite(score_auc) else 1.0
        significant = info["auc_p_value"] < self.alpha
        passed = not (score_auc > self.max_auc and significant)
        sc = ", ".join(f"{r['stat']} ({r['direction']}, AUC {r['separation']:.2f})" for r in shortcuts) or "none found"
        chance = "" if significant or score_auc <= self.max_auc else \
            f"; not significant, p {info['auc_p_value']:.2g}" + (
                f" by {info['permutations']} relabellings" if "permutations" in info else "")
        msg = f"real-vs-synthetic AUC {score_auc:.3f} (policy <= {self.max_auc}{chance}); shortcuts: {sc}"
        if "stats_only_auc" in info:
            msg += f"; image statistics alone: AUC {info['stats_only_auc']:.3f}"
        if st is not None:
            strongest = max(info["image_stats"], key=lambda r: np.nan_to_num(r["separation"]))
            info["strongest_stat"] = strongest["stat"]
            msg += (
                f"; strongest statistic {strongest['stat']} "
                f"({strongest['direction']}, AUC {strongest['separation']:.2f})"
            )
        return CheckResult(self.name, scores, flags, float(np.clip(summary, 0, 1)), passed, msg, info)
