"""Fuser under hostile settings and evidence: settings from YAML of the wrong type, infinite features."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.combine import Fuser
from assetgrade.modalities.base import EvidenceBlock


def _block(rng: np.random.Generator, n: int = 60) -> tuple[EvidenceBlock, np.ndarray]:
    y = rng.integers(0, 3, n)
    feat = (y[:, None] + rng.normal(0, 0.3, (n, 2))).astype(float)
    return EvidenceBlock("vision", [f"a{i}" for i in range(n)], ("f0", "f1"), feat, np.ones(n, bool)), y


@pytest.mark.parametrize(("setting", "says"), [
    ({"C": 0}, "C=0 must be a finite number > 0"),
    ({"C": "1"}, "C='1' must be a finite number > 0"),
    ({"C": float("inf")}, "C=inf must be"),
    ({"dropout": "0.2"}, r"dropout='0.2' must be a number in \[0, 1\)"),
    ({"dropout_copies": 1.5}, "dropout_copies=1.5 must be an integer >= 0"),
    ({"dropout_copies": "2"}, "dropout_copies='2' must be an integer"),
    ({"n_estimators": 0}, "n_estimators=0 must be an integer >= 1"),
    ({"seed": -1}, "seed=-1 must be an integer >= 0"),
    ({"monotone": "no"}, "monotone='no' must be true or false"),  # a quoted "no" is a true string
    ({"ordinal": "yes"}, "ordinal='yes' must be true or false"),
    ({"use_features": 1}, "use_features=1 must be true or false"),
])
def test_bad_settings_are_named_before_any_fit(rng: np.random.Generator, setting: dict, says: str) -> None:  # type: ignore[type-arg]
    b, y = _block(rng)
    field = next(iter(setting))
    with pytest.raises(ValidationError, match=rf"Fuser\.{field}: {says}"):
        Fuser(**setting).fit([b], y, n_classes=3)


def test_workspace_fuser_settings_are_checked_by_config_check() -> None:
    from assetgrade.grader_factory import check_grader_settings

    # C: 0 passed config check and train then stopped with scikit-learn's traceback
    assert check_grader_settings({"fuser": {"C": 0}}) == [
        "assetgrade.yaml:grader.fuser.C: C=0 must be a finite number > 0"]
    assert check_grader_settings({"fuser": {"model": "logistic", "C": 0.5, "dropout_copies": 1}}) == []


def test_infinite_feature_cells_get_the_learned_fill(rng: np.random.Generator) -> None:
    b, y = _block(rng)
    bad = b.features.copy()
    bad[0, 0], bad[3, 1] = np.inf, -np.inf
    inf_block = EvidenceBlock("vision", b.asset_ids, b.feature_names, bad, b.present)
    nan = b.features.copy()
    nan[0, 0], nan[3, 1] = np.nan, np.nan
    nan_block = EvidenceBlock("vision", b.asset_ids, b.feature_names, nan, b.present)
    fitted = Fuser(seed=0).fit([inf_block], y, n_classes=3)  # scikit-learn refused X with inf
    p = fitted.predict_proba([inf_block])
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p, Fuser(seed=0).fit([nan_block], y, n_classes=3).predict_proba([nan_block]))


def test_latent_names_the_modality_and_asset_of_negative_probabilities(rng: np.random.Generator) -> None:
    b, y = _block(rng)
    gp = rng.dirichlet([1, 1, 1], len(y))
    gp[4] = [-0.5, 1.0, 0.5]
    text = EvidenceBlock("text", b.asset_ids, (), np.zeros((len(y), 0)), np.ones(len(y), bool), grade_proba=gp)
    with pytest.raises(ValidationError, match=r"EvidenceBlock\[text\]\.grade_proba: asset 'a4' has negative"):
        Fuser(model="latent").fit([text], y, n_classes=3)


def test_a_grade_seen_once_leaves_a_fold_with_one_grade(rng: np.random.Generator) -> None:
    from assetgrade.fusion.combine import cross_val_proba

    b, _ = _block(rng, 30)
    y = np.zeros(30, dtype=np.int64)
    y[5] = 1  # train stopped with "y: need at least two distinct grades to fit"
    oof = cross_val_proba(lambda: Fuser(seed=0), [b], y, b.asset_ids, n_classes=2, n_splits=3)
    assert np.all(np.isfinite(oof)) and np.allclose(oof.sum(axis=1), 1.0)
    # the fold holding asset 5 learned from ok-graded assets only: Laplace's rule over what it saw
    from assetgrade.fusion.combine import grouped_folds

    tr = next(tr for tr, te in grouped_folds(b.asset_ids, 3, 0) if 5 in te)
    assert np.allclose(oof[5], [(len(tr) + 1) / (len(tr) + 2), 1 / (len(tr) + 2)])


@pytest.mark.parametrize("n_splits", [0, 1, 2.5])
def test_folds_need_an_integer_of_at_least_two(n_splits: object) -> None:
    from assetgrade.fusion.combine import grouped_folds

    with pytest.raises(ValidationError, match=r"n_splits: n_splits=.* must be an integer >= 2"):
        grouped_folds(["a", "b", "c"], n_splits, 0)  # type: ignore[arg-type]  # 0 was a ZeroDivisionError


def test_too_few_groups_for_the_folds_says_what_to_change() -> None:
    from assetgrade.fusion.combine import grouped_folds

    with pytest.raises(ValidationError, match=r"groups: 4 asset\(s\) in 2 group\(s\) cannot make 3 folds: .*\(fewer "
                                              r"folds, or more assets"):
        grouped_folds(["u1", "u1", "u2", "u2"], 3, 0)


def test_latent_names_a_modality_absent_on_every_training_asset(rng: np.random.Generator) -> None:
    b, y = _block(rng)
    n = len(y)
    gp = rng.dirichlet([1, 1, 1], n)
    seen = EvidenceBlock("vision", b.asset_ids, (), np.zeros((n, 0)), np.ones(n, bool), grade_proba=gp)
    never = EvidenceBlock("sensors", b.asset_ids, (), np.zeros((n, 0)), np.zeros(n, bool), grade_proba=gp)
    with pytest.raises(ValidationError, match=r"EvidenceBlock\[sensors\]: absent .* on every training asset"):
        Fuser(model="latent").fit([seen, never], y, n_classes=3)
    auto = Fuser(model="auto").fit([seen, never], y, n_classes=3)  # auto picked latent and stopped
    assert auto.model_ == "logistic" and np.allclose(auto.predict_proba([seen, never]).sum(axis=1), 1.0)
