"""Active learning over a trained Grader: which unlabelled assets to label next."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.modalities.base import EvidenceBlock
from assetgrade.review.selection import uncertainty
from assetgrade.review.suggest import evidence_embedding, suggest_labels
from assetgrade.store.records import AssetRecord

from .conftest import make_records


@pytest.fixture(scope="module")
def mixed(records: list[AssetRecord]) -> list[AssetRecord]:
    """The 32 labelled training assets plus 16 new, unlabelled ones."""
    fresh = [dataclasses.replace(r, asset_id=f"new{i:02d}", grade=None) for i, r in enumerate(make_records(16, seed=7))]
    return [*records, *fresh]


def test_suggestions_are_distinct_unlabelled_and_deterministic(grader: Grader, mixed: list[AssetRecord]) -> None:
    rows = suggest_labels(grader, mixed, k=6)
    ids = [r.asset_id for r in rows]
    assert len(set(ids)) == 6 and all(i.startswith("new") for i in ids)
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].chosen_by == "typiclust"  # 32 labels < 10 per grade x 4 grades
    assert ids == [r.asset_id for r in suggest_labels(grader, mixed, k=6)]
    for r in rows:
        assert 0.0 <= r.margin <= 1.0 and 0.0 < r.confidence <= 1.0 and r.predicted_grade in grader.grades_
    assert len(suggest_labels(grader, mixed, k=100)) == 16  # never more than the unlabelled pool
    assert suggest_labels(grader, mixed[:32], k=5) == []  # everything labelled: nothing to ask


def test_with_enough_labels_it_follows_the_graders_uncertainty(grader: Grader, mixed: list[AssetRecord]) -> None:
    rows = suggest_labels(grader, mixed, k=1, params={"per_class": 2})  # 32 labels >= 2 x 4: uncertainty phase
    assert {r.chosen_by for r in rows} == {"uncertain_coreset"}
    results = grader.grade_many(mixed[32:])
    probs = np.array([[res.probabilities[g] for g in grader.grades_] for res in results])
    u = uncertainty(probs, "margin")
    top = {mixed[32 + i].asset_id for i in np.argsort(-u)[:5]}  # the candidate pool: 5 per slot, of 16
    assert {r.asset_id for r in rows} <= top


def test_bad_requests_are_clear_errors(grader: Grader, mixed: list[AssetRecord]) -> None:
    with pytest.raises(ValidationError, match="k must be"):
        suggest_labels(grader, mixed, k=-1)
    with pytest.raises(ValidationError, match="unknown strategy"):
        suggest_labels(grader, mixed, strategy="oracle")


def test_embedding_weighs_modalities_equally_and_fills_absent_rows() -> None:
    rng = np.random.default_rng(0)
    n = 80
    wide = rng.normal(size=(n, 50))
    narrow = rng.normal(size=(n, 2))
    present = np.ones(n, bool)
    present[3] = False

    def block(m: str, x: np.ndarray, pres: np.ndarray) -> EvidenceBlock:
        return EvidenceBlock(m, [f"a{i}" for i in range(n)], tuple(f"f{j}" for j in range(x.shape[1])), x, pres,
                             {}, {})

    emb = evidence_embedding([block("vision", wide, present), block("sensors", narrow, np.ones(n, bool))], dims=60)
    assert emb.shape == (n, 52) and np.isfinite(emb).all()
    assert np.allclose(emb[3, :50], 0.0)  # absent: at the block's mean
    # each block carries the same total variance whatever its width or units
    assert np.isclose((emb[:, :50] ** 2).sum(), (emb[:, 50:] ** 2).sum(), rtol=0.15)
    scaled = evidence_embedding([block("vision", wide * 1000, present), block("sensors", narrow, np.ones(n, bool))],
                                dims=60)
    assert np.allclose(scaled, emb)
    assert evidence_embedding([block("vision", wide, present)], dims=5).shape == (n, 5)


def test_batched_grading_suggests_the_same(grader: Grader, mixed: list[AssetRecord],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.review.suggest as suggest

    whole = suggest_labels(grader, mixed, k=5)
    monkeypatch.setattr(suggest, "_BATCH", 7)  # 48 assets in 7 batches, the last one short
    assert suggest_labels(grader, mixed, k=5) == whole


def test_label_round_checks_settings_before_loading_a_grader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assetgrade.errors import NotFoundError
    from assetgrade.review.suggest import label_round
    from assetgrade.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")  # no trained grader in it
    try:
        bad = [({"seed": -1}, "seed"), ({"k": -2}, "k"), ({"strategy": "nope"}, "strategy"),
               ({"strategy": "typiclust", "per_class": 3.0}, "per_class"), ({"replace": True}, "replace")]
        for kwargs, where in bad:
            with pytest.raises(ValidationError) as err:
                label_round(ws, **kwargs)  # type: ignore[arg-type]
            assert err.value.where == where
        with pytest.raises(NotFoundError):  # settings fine: only now is the missing grader found
            label_round(ws, k=3)
    finally:
        ws.close()
