"""Multiple-instance ordinal head: the worst-photo posterior, the bag distribution, EM recovering photo levels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.heads import LinearProbe, OrdinalLogistic
from assetgrade.modalities.vision.mil import MILOrdinal, bag_max_proba, max_posterior


def _enumerate(q: np.ndarray) -> dict[tuple[int, ...], float]:
    return {ls: float(np.prod([q[i, lev] for i, lev in enumerate(ls)]))
            for ls in itertools.product(range(q.shape[1]), repeat=q.shape[0])}


def test_max_posterior_and_bag_distribution_match_enumeration(rng: np.random.Generator) -> None:
    q = rng.dirichlet(np.ones(3), size=3)
    joint = _enumerate(q)
    for g in range(3):
        mass = {ls: p for ls, p in joint.items() if max(ls) == g}
        total = sum(mass.values())
        want = np.array([[sum(p for ls, p in mass.items() if ls[i] == lev) / total for lev in range(3)]
                         for i in range(3)])
        assert np.allclose(max_posterior(q, g), want)
        assert bag_max_proba(q)[g] == pytest.approx(total)
    # a photo whose own distribution cannot reach the asset's level below it: the others carry it
    post = max_posterior(np.array([[1.0, 0.0], [0.5, 0.5]]), 1)
    assert post[1, 1] == pytest.approx(1.0) and post[0, 0] == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValidationError, match="level 3"):
        max_posterior(q, 3)


def test_weighted_ordinal_fit_equals_duplicated_rows(rng: np.random.Generator) -> None:
    X = rng.normal(size=(60, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    w = rng.integers(1, 4, 60)
    a = OrdinalLogistic(n_classes=3, C=1.0).fit(X, y, sample_weight=w)
    b = OrdinalLogistic(n_classes=3, C=1.0).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert np.allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-4)
    assert not np.allclose(a.predict_proba(X), OrdinalLogistic(n_classes=3, C=1.0).fit(X, y).predict_proba(X),
                           atol=1e-3)  # the weights matter
    with pytest.raises(ValidationError, match="sample_weight"):
        OrdinalLogistic(n_classes=3).fit(X, y, sample_weight=-np.ones(60))


def _worst_photo_bags(rng: np.random.Generator, n_bags: int = 80, per: int = 3) -> tuple[np.ndarray, ...]:
    """Photos' hidden levels, their features, their asset index, and each asset's level (its worst photo's)."""
    levels = rng.choice(3, size=n_bags * per, p=[0.6, 0.25, 0.15])
    X = levels[:, None] + rng.normal(0, 0.35, (len(levels), 2))
    bags = np.repeat(np.arange(n_bags), per)
    y_bag = np.array([levels[bags == b].max() for b in range(n_bags)])
    return levels, X, bags, y_bag


def test_mil_recovers_photo_levels_the_plain_head_confuses(rng: np.random.Generator) -> None:
    n_bags = 80
    levels, X, bags, y_bag = _worst_photo_bags(rng, n_bags)
    mil = MILOrdinal(n_classes=3, C=1.0, n_iter=15).fit(X, bags, y_bag)
    plain = OrdinalLogistic(n_classes=3, C=1.0).fit(X, y_bag[bags])
    acc_mil = float((mil.predict_proba(X).argmax(axis=1) == levels).mean())
    acc_plain = float((plain.predict(X) == levels).mean())
    assert acc_mil >= 0.85 and acc_mil > acc_plain + 0.1
    assert mil.n_iter_ >= 2 and mil.shift_[-1] < mil.shift_[0]
    bag_p = mil.predict_bag_proba(X, bags, n_bags)
    assert np.allclose(bag_p.sum(axis=1), 1) and float((bag_p.argmax(axis=1) == y_bag).mean()) >= 0.85
    # one photo per asset: nothing is latent, the fit is the plain head's
    one = MILOrdinal(n_classes=3, C=1.0).fit(X[:50], np.arange(50), levels[:50])
    ref = OrdinalLogistic(n_classes=3, C=1.0).fit(X[:50], levels[:50])
    assert one.n_iter_ == 0 and np.allclose(one.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_mil_names_bad_input() -> None:
    X = np.zeros((4, 2))
    with pytest.raises(ValidationError, match="asset indices"):
        MILOrdinal(n_classes=2).fit(X, [0, 0, 1, 5], [0, 1])
    with pytest.raises(ValidationError, match="asset levels"):
        MILOrdinal(n_classes=2).fit(X, [0, 0, 1, 1], [0, 2])
    with pytest.raises(ValidationError, match="4 rows for 3 photos in 1 view"):
        MILOrdinal(n_classes=2).fit(X, [0, 0, 1], [0, 1])


def test_mil_with_the_multinomial_head_recovers_photo_levels(rng: np.random.Generator) -> None:
    levels, X, bags, y_bag = _worst_photo_bags(rng)
    mil = MILOrdinal(n_classes=3, C=1.0, n_iter=15, head="logistic").fit(X, bags, y_bag)
    assert isinstance(mil.head_, LinearProbe)
    plain = LinearProbe(n_classes=3, C=1.0).fit(X, y_bag[bags])
    acc_mil = float((mil.predict_proba(X).argmax(axis=1) == levels).mean())
    assert acc_mil >= 0.85 and acc_mil > float((plain.predict(X) == levels).mean()) + 0.1
    with pytest.raises(ValidationError, match="head 'tree'"):
        MILOrdinal(n_classes=3, head="tree")  # type: ignore[arg-type]


def test_mil_shares_a_photos_latent_level_across_its_views(rng: np.random.Generator) -> None:
    levels = rng.integers(0, 2, 120)
    X = levels[:, None] + rng.normal(0, 0.3, (120, 1))
    bags = np.repeat(np.arange(40), 3)
    y = np.array([levels[bags == b].max() for b in range(40)])
    flipped = X + rng.normal(0, 0.05, X.shape)  # a second, slightly different view of every photo
    m = MILOrdinal(n_classes=2, C=1.0).fit(np.vstack([X, flipped]), bags, y, views=2)
    assert m.posterior_.shape == (120, 2)  # one posterior per photo, shared by its views
    assert float((m.head_.predict(X) == levels).mean()) > 0.9
    with pytest.raises(ValidationError, match="240 rows for 120 photos in 3 view"):
        MILOrdinal(n_classes=2).fit(np.vstack([X, flipped]), bags, y, views=3)
