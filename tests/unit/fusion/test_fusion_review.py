"""Fusion under hostile inputs found in review: metric label counts, conformal ranks, late settings, row order."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.calibration import (
    classwise_ece,
    debiased_ece,
    expected_calibration_error,
    negative_log_likelihood,
)
from assetgrade.fusion.combine import Fuser
from assetgrade.fusion.conformal import SplitConformal, conformal_quantile, conformal_scores, coverage
from assetgrade.fusion.contradictions import contradictions_for_blocks, find_contradictions, ordinal_distance
from assetgrade.fusion.folds import take_rows
from assetgrade.fusion.latent import isotonic_grid
from assetgrade.fusion.pipeline import FusionModel
from assetgrade.modalities.base import EvidenceBlock


def _proba(rng: np.random.Generator, n: int = 10, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return rng.dirichlet(np.ones(k), size=n), rng.integers(0, k, n)


@pytest.mark.parametrize("metric", [
    lambda p, y: expected_calibration_error(p, y),
    lambda p, y: classwise_ece(p, y),
    lambda p, y: negative_log_likelihood(p, y),
    lambda p, y: debiased_ece(p, y, n_boot=2, n_sims=2),
    lambda p, y: conformal_scores(p, y),
    lambda p, y: coverage(p > 0.3, y),
], ids=["ece", "classwise_ece", "nll", "debiased_ece", "conformal_scores", "coverage"])
@pytest.mark.parametrize("n_labels", [1, 5, 11])
def test_metrics_refuse_a_label_count_that_is_not_the_row_count(
        rng: np.random.Generator, metric: Callable[[np.ndarray, np.ndarray], Any], n_labels: int) -> None:
    # one label was broadcast over all 10 rows (ECE 0.50 from nothing); 5 labels scored the first 5 rows
    p, y = _proba(rng)
    labels = np.resize(y, n_labels)
    with pytest.raises(ValidationError, match=rf"{n_labels} labels for 10 rows"):
        metric(p, labels)


def test_coverage_and_ece_match_a_direct_count(rng: np.random.Generator) -> None:
    p, y = _proba(rng, n=400, k=4)
    member = p >= 0.25
    assert coverage(member, y) == pytest.approx(sum(bool(member[i, y[i]]) for i in range(400)) / 400)
    conf, hit = p.max(axis=1), p.argmax(axis=1) == y
    edges = np.linspace(0, 1, 11)
    direct = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        if inside.any():
            direct += inside.mean() * abs(hit[inside].mean() - conf[inside].mean())
    assert expected_calibration_error(p, y, n_bins=10) == pytest.approx(direct)


@pytest.mark.parametrize(("alpha", "n", "rank"), [(0.7, 9, 3), (0.45, 99, 55), (0.99, 99, 1), (0.1, 9, 9), (0.5, 3, 2)])
def test_conformal_quantile_takes_the_exact_rank(alpha: float, n: int, rank: int) -> None:
    # the rank is ceil((n + 1)(1 - alpha)) in exact arithmetic; floats gave 10 * (1 - 0.7) = 3.0000000000000004 -> 4
    scores = np.arange(1.0, n + 1.0)
    assert conformal_quantile(scores, alpha) == float(rank)
    lac = scores / (n + 1)  # 1 - p(true grade)
    cp = SplitConformal(alpha=alpha).fit(np.column_stack([lac, 1 - lac]), np.ones(n, int))
    assert cp.quantile_ == pytest.approx(rank / (n + 1))


def _blocks(rng: np.random.Generator, y: np.ndarray, k: int = 4) -> list[EvidenceBlock]:
    ids = [f"a{i}" for i in range(len(y))]
    out = []
    for m in ("vision", "text", "sensors"):
        gp = np.array([rng.dirichlet(np.full(k, 0.7) + 3.0 * np.eye(k)[t]) for t in y]).reshape(len(y), k)
        out.append(EvidenceBlock(m, ids, ("f",), gp[:, :1].copy(), np.ones(len(y), bool), grade_proba=gp))
    return out


@pytest.mark.parametrize(("setting", "says"), [
    ({"min_confidence": 2.0}, r"FusionModel\.min_confidence: min_confidence=2.0 must be in \[0, 1\]"),
    ({"min_confidence": float("nan")}, r"FusionModel\.min_confidence: min_confidence=nan"),
    ({"emd_threshold": 0.0}, r"FusionModel\.emd_threshold: emd_threshold=0.0 must be a finite number > 0"),
])
def test_contradiction_settings_are_checked_before_fitting(rng: np.random.Generator, setting: dict[str, float],
                                                           says: str) -> None:
    # they were accepted by fit, and predict then failed after every fuser had been fitted
    y = rng.integers(0, 4, 40)
    fm = FusionModel(**setting)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=says):
        fm.fit(_blocks(rng, y), y)
    assert not hasattr(fm, "fuser_")


@pytest.mark.parametrize("model", ["logistic", "latent"])
def test_the_fitted_fuser_does_not_depend_on_the_order_assets_are_listed_in(model: str) -> None:
    # the same 200 assets listed in another order moved probabilities by up to 0.11 (dropout draws, the
    # latent table's temperature folds: 0.354 or 0.25 for sensors here) and changed conformal sets
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 200)
    blocks = _blocks(rng, y)
    perm = rng.permutation(200)
    shuffled = [take_rows(b, perm) for b in blocks]
    a = Fuser(model=model).fit(blocks, y, n_classes=4)  # type: ignore[arg-type]
    b = Fuser(model=model).fit(shuffled, y[perm], n_classes=4)  # type: ignore[arg-type]
    assert np.allclose(a.predict_proba(blocks), b.predict_proba(blocks), atol=1e-9)
    fa = FusionModel(fuser=Fuser(model=model)).fit(blocks, y)  # type: ignore[arg-type]
    fb = FusionModel(fuser=Fuser(model=model)).fit(shuffled, y[perm])  # type: ignore[arg-type]
    oa, ob = fa.predict(blocks), fb.predict(blocks)
    assert np.allclose(oa.proba, ob.proba, atol=1e-9)
    assert fa.conformal_.quantile_ == pytest.approx(fb.conformal_.quantile_, abs=1e-9)
    assert oa.conformal is not None and ob.conformal is not None
    assert np.array_equal(oa.conformal.membership, ob.conformal.membership)


def test_contradictions_read_unnormalised_distributions_as_distributions() -> None:
    grades = ("A", "B", "C", "D")
    # both say A: their unnormalised ordinal distance (3.0, or 237.6 for percentages) raised a contradiction
    assert find_contradictions({"vision": np.array([1.0, 0, 0, 0]), "text": np.array([2.0, 0, 0, 0])}, {}, grades) == []
    assert find_contradictions({"vision": np.array([70.0, 10, 10, 10]), "text": np.array([0.7, 0.1, 0.1, 0.1])},
                               {}, grades) == []
    found = find_contradictions({"vision": np.array([10.0, 0, 0, 90]), "text": np.array([0.9, 0.1, 0, 0])}, {},
                                grades)
    assert [c.grades for c in found] == [("A", "D")]
    assert found[0].distance == pytest.approx(ordinal_distance([0.1, 0, 0, 0.9], [0.9, 0.1, 0, 0]))


def test_contradictions_refuse_a_negative_probability_naming_the_asset() -> None:
    ids = ["a0", "a1"]
    gp = np.array([[0.7, 0.1, 0.1, 0.1], [-1.0, 0.0, 0.0, 2.0]])
    text = EvidenceBlock("text", ids, (), np.zeros((2, 0)), np.ones(2, bool), grade_proba=gp)
    vision = EvidenceBlock("vision", ids, (), np.zeros((2, 0)), np.ones(2, bool),
                           grade_proba=np.tile([0.7, 0.1, 0.1, 0.1], (2, 1)))
    # it read text as grade D, three levels from vision's A
    with pytest.raises(ValidationError, match=r"proba\[text\]: asset 'a1': distribution .* has a negative entry"):
        contradictions_for_blocks([vision, text], ("A", "B", "C", "D"))


@pytest.mark.parametrize(("model", "calibration"), [("logistic", "temperature"), ("latent", "isotonic")])
def test_an_empty_batch_gets_an_empty_answer(rng: np.random.Generator, model: str, calibration: str) -> None:
    # scikit-learn, the latent table's reshape and the temperature's min() of nothing raised ValueError
    y = rng.integers(0, 4, 60)
    fm = FusionModel(fuser=Fuser(model=model), calibration=calibration).fit(_blocks(rng, y), y)  # type: ignore[arg-type]
    out = fm.predict(_blocks(rng, y[:0]))
    assert out.proba.shape == (0, 4) and out.raw_proba.shape == (0, 4)
    assert out.conformal is not None and out.conformal.sets() == [] and out.contradictions == {}


def test_a_calibration_set_without_assets_is_refused(rng: np.random.Generator) -> None:
    # with calibration="none" it gave an infinite threshold: every set held every grade
    y = rng.integers(0, 4, 60)
    with pytest.raises(ValidationError, match="calibration set holds no assets"):
        FusionModel(calibration="none").fit(_blocks(rng, y), y, calibration=(_blocks(rng, y[:0]), y[:0], None))


def test_the_logistic_fuser_refuses_negative_probabilities_like_the_latent_one(rng: np.random.Generator) -> None:
    y = rng.integers(0, 4, 60)
    blocks = _blocks(rng, y)
    gp = blocks[1].grade_proba.copy()  # type: ignore[union-attr]
    gp[7] = [-0.5, 1.0, 0.25, 0.25]
    bad = [blocks[0], take_rows(blocks[1], np.arange(60)), blocks[2]]
    bad[1].grade_proba = gp
    says = r"EvidenceBlock\[text\]\.grade_proba: asset 'a7' has negative probabilities"
    with pytest.raises(ValidationError, match=says):  # it was stacked as if it were a reading
        Fuser(model="logistic").fit(bad, y, n_classes=4)
    fitted = Fuser(model="logistic").fit(blocks, y, n_classes=4)
    with pytest.raises(ValidationError, match=says):
        fitted.predict_proba(bad)
    absent = take_rows(bad[1], np.arange(60))
    absent.present[7] = False  # an absent row's cells are not read
    assert fitted.predict_proba([blocks[0], absent, blocks[2]]).shape == (60, 4)


def test_isotonic_grid_with_empty_cells_stays_finite() -> None:
    from sklearn.isotonic import IsotonicRegression

    # cells without mass (weight 0, clipped to 1e-300) after heavy ones: cumulative-sum differences gave NaN
    v = np.array([[0.2, 0.9, 0.1, 0.5]])
    w = np.array([[1.0, 1.0, 0.0, 0.0]])
    fit = isotonic_grid(v, w)
    ref = IsotonicRegression().fit(np.arange(4), v[0], sample_weight=[1.0, 1.0, 1e-20, 1e-20]).predict(np.arange(4))
    assert np.allclose(fit[0], ref) and np.allclose(fit[0], [0.2, 0.9, 0.9, 0.9])
    grid = isotonic_grid(np.array([[0.0, 0.6, 0.3], [0.5, 0.2, 0.9]]), np.array([[1.0, 1.0, 0.0], [1.0, 1e-18, 1.0]]))
    assert np.all(np.isfinite(grid))
    assert np.all(np.diff(grid, axis=0) >= -1e-9) and np.all(np.diff(grid, axis=1) >= -1e-9)
