"""Fuser: stacks blocks, trains with modality dropout, degrades gracefully when a modality is missing."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.fusion.combine import Fuser, cross_val_blocks, cross_val_proba, grouped_folds
from assetgrade.modalities.base import EvidenceBlock
from assetgrade.store.records import AssetRecord


def _blocks(rng: np.random.Generator, n: int = 300, k: int = 4) -> tuple[list[EvidenceBlock], np.ndarray]:
    y = rng.integers(0, k, n)
    ids = [f"a{i}" for i in range(n)]
    # vision sees y through noise; text sees y + 1 shifted signal; each alone is imperfect
    v = y[:, None] + rng.normal(0, 0.8, (n, 3))
    t = (y[:, None] >= 2) + rng.normal(0, 0.4, (n, 2))
    gp = np.exp(-0.5 * (np.arange(k)[None, :] - (y + rng.normal(0, 0.9, n))[:, None]) ** 2)
    gp /= gp.sum(1, keepdims=True)
    present_t = rng.random(n) > 0.1
    t_feat = t.astype(float)
    t_feat[~present_t] = np.nan
    blocks = [
        EvidenceBlock("vision", ids, ("v0", "v1", "v2"), v.astype(float), np.ones(n, bool), grade_proba=gp),
        EvidenceBlock("text", ids, ("t0", "t1"), t_feat, present_t),
    ]
    return blocks, y


def test_fused_beats_single_and_is_a_distribution(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng)
    tr, te = np.arange(200), np.arange(200, 300)
    from assetgrade.fusion.combine import _take

    fz = Fuser(seed=0).fit([_take(b, tr) for b in blocks], y[tr], n_classes=4)
    p = fz.predict_proba([_take(b, te) for b in blocks])
    assert p.shape == (100, 4)
    assert np.allclose(p.sum(1), 1) and np.all(p > 0)
    acc = (p.argmax(1) == y[te]).mean()
    acc_v = (
        Fuser(seed=0).fit([_take(blocks[0], tr)], y[tr], n_classes=4).predict([_take(blocks[0], te)]) == y[te]
    ).mean()
    assert acc >= acc_v
    assert "text:absent" in fz.feature_names_


def test_missing_modality_at_predict_time_uses_absent_indicator(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng)
    fz = Fuser(seed=0, dropout=0.3, dropout_copies=2).fit(blocks, y, n_classes=4)
    full = fz.predict_proba(blocks)
    no_text = fz.predict_proba([blocks[0]])  # text block not given at all
    assert no_text.shape == full.shape
    assert np.all(np.isfinite(no_text)) and np.allclose(no_text.sum(1), 1)
    assert not np.allclose(no_text, full)  # the absent indicator changes the answer
    # same as passing the text block with every asset marked absent
    n = len(y)
    blank = EvidenceBlock("text", blocks[1].asset_ids, ("t0", "t1"), np.full((n, 2), np.nan), np.zeros(n, bool))
    assert np.allclose(fz.predict_proba([blocks[0], blank]), no_text)
    # the model gives the absent indicator a non-zero weight
    coef = fz.estimators_[0].coef_
    j = fz.feature_names_.index("text:absent")
    assert np.abs(coef[:, j]).max() > 1e-3
    # NaN features with present=True are filled with the learned fill, never zero
    assert np.all(np.isfinite(fz.fill_["text"]))


def test_modality_dropout_happens(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng)
    fz = Fuser(seed=1, dropout=0.3, dropout_copies=2).fit(blocks, y, n_classes=4)
    assert fz.n_train_rows_ == 3 * len(y)
    for m in ("vision", "text"):
        assert 0.2 * 2 * len(y) * 0.9 < fz.dropped_counts_[m] < 0.4 * 2 * len(y)
    off = Fuser(dropout=0.0).fit(blocks, y, n_classes=4)
    assert off.n_train_rows_ == len(y) and sum(off.dropped_counts_.values()) == 0


@pytest.mark.parametrize(("model", "ordinal"), [("logistic", True), ("lightgbm", False)])
def test_other_models(rng: np.random.Generator, model: str, ordinal: bool) -> None:
    blocks, y = _blocks(rng, n=200)
    fz = Fuser(model=model, ordinal=ordinal, dropout_copies=1, n_estimators=40).fit(blocks, y, n_classes=4)  # type: ignore[arg-type]
    p = fz.predict_proba(blocks)
    assert np.allclose(p.sum(1), 1) and np.all(p >= 0)
    assert (p.argmax(1) == y).mean() > 0.5


def test_grouped_cv_never_shares_a_group(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng, n=120)
    groups = [f"g{i // 4}" for i in range(120)]
    for tr, te in grouped_folds(groups, 5, seed=0):
        assert not {groups[i] for i in tr} & {groups[i] for i in te}
    oof = cross_val_proba(lambda: Fuser(dropout_copies=1), blocks, y, groups, n_classes=4, n_splits=5)
    assert np.all(np.isfinite(oof)) and np.allclose(oof.sum(1), 1)


class _MeanExtractor:
    """A real (tiny) extractor: the asset value as feature, a grade distribution from fitted class means."""

    modality = "sensors"

    def fit(self, records, grades=None):  # type: ignore[no-untyped-def]
        vals = np.array([r.value for r in records], float)
        g = np.array(["ABCD".index(x) for x in grades])
        self.means_ = np.array([vals[g == k].mean() for k in range(4)])
        return self

    def extract(self, records):  # type: ignore[no-untyped-def]
        vals = np.array([[r.value] for r in records], float)
        d = -np.abs(vals - self.means_[None, :])
        gp = np.exp(d) / np.exp(d).sum(1, keepdims=True)
        return EvidenceBlock(
            "sensors", [r.asset_id for r in records], ("value",), vals, np.ones(len(records), bool), grade_proba=gp
        )


def test_cross_val_blocks_is_out_of_fold(rng: np.random.Generator) -> None:
    g = rng.integers(0, 4, 80)
    recs = [AssetRecord(asset_id=f"a{i}", value=float(g[i] * 10 + rng.normal())) for i in range(80)]
    grades = ["ABCD"[k] for k in g]
    blk = cross_val_blocks(_MeanExtractor, recs, grades, [f"a{i}" for i in range(80)], n_splits=4)
    assert blk.asset_ids == [r.asset_id for r in recs]
    assert blk.grade_proba is not None and np.all(np.isfinite(blk.grade_proba))
    assert (blk.grade_proba.argmax(1) == g).mean() > 0.9


def test_blocks_must_align(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng, n=20)
    other = EvidenceBlock(
        "text", list(reversed(blocks[1].asset_ids)), ("t0", "t1"), blocks[1].features, blocks[1].present
    )
    with pytest.raises(ValidationError, match="order"):
        Fuser().fit([blocks[0], other], y, n_classes=4)


def test_pickle_round_trip_gives_identical_results(rng: np.random.Generator) -> None:
    import pickle

    blocks, y = _blocks(rng, n=120)
    fz = Fuser(dropout_copies=1).fit(blocks, y, n_classes=4)
    again = pickle.loads(pickle.dumps(fz))
    assert np.array_equal(again.predict_proba(blocks), fz.predict_proba(blocks))


def test_ordinal_with_a_grade_never_seen(rng: np.random.Generator) -> None:
    blocks, y = _blocks(rng, n=150)
    y = np.minimum(y, 2)  # grade D never occurs in training
    fz = Fuser(ordinal=True, dropout_copies=1).fit(blocks, y, n_classes=4)
    p = fz.predict_proba(blocks)
    assert p.shape == (150, 4) and np.allclose(p.sum(1), 1)
    assert p[:, 3].max() < 1e-3


class _GroupedMeanExtractor(_MeanExtractor):
    """Records the groups each fit receives (an extractor that tunes itself by grouped CV takes them)."""

    seen: ClassVar[list[list[str]]] = []

    def fit(self, records, grades=None, *, groups=None):  # type: ignore[no-untyped-def]
        type(self).seen.append(list(groups))
        return super().fit(records, grades)


def test_out_of_fold_fits_get_the_groups_of_their_training_part(rng: np.random.Generator) -> None:
    from assetgrade.grading.training import out_of_fold_block

    g = rng.integers(0, 4, 80)
    recs = [AssetRecord(asset_id=f"a{i}", value=float(g[i] * 10 + rng.normal())) for i in range(80)]
    grades = ["ABCD"[k] for k in g]
    sites = [f"site{i % 8}" for i in range(80)]
    for run in (lambda: cross_val_blocks(_GroupedMeanExtractor, recs, grades, sites, n_splits=4),
                lambda: out_of_fold_block(_GroupedMeanExtractor, recs, grades, sites, names=("value",), n_classes=4,
                                          n_splits=4, seed=0)):
        _GroupedMeanExtractor.seen = []
        run()
        assert len(_GroupedMeanExtractor.seen) == 4
        for got in _GroupedMeanExtractor.seen:  # each fit sees the sites of its own training records only
            assert len(got) == 60 and len(set(got)) == 6
