"""Audit of what the Grader learns from: no asset's evidence on both sides of a split, and a version per model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.grading.fitting import model_version, version_settings
from assetgrade.modalities.base import EvidenceBlock, Modality
from assetgrade.store.records import AssetRecord, ImageRef

from .conftest import make_records, tiny_grader

GRADES = ("A", "B", "C", "D")


class _Memorising:
    """A vision extractor that knows the grade of every image file it was fitted on (a 1-nearest-neighbour
    in the limit), and notes which files it was fitted on and which it was then asked about."""

    modality: Modality = "vision"
    feature_names = ("seen",)
    log: ClassVar[list[tuple[frozenset[str], frozenset[str]]]] = []

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None) -> Self:
        self.memory_ = {i.sha256: g for r, g in zip(records, grades or (), strict=True) for i in r.images}
        return self

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        type(self).log.append((frozenset(self.memory_), frozenset(i.sha256 for r in records for i in r.images)))
        p = np.full((len(records), 4), 0.25)
        for k, r in enumerate(records):
            g = self.memory_.get(r.images[0].sha256)
            if g is not None:
                p[k] = 0.01
                p[k, GRADES.index(g)] = 0.97
        return EvidenceBlock("vision", [r.asset_id for r in records], ("seen",), p[:, :1].copy(),
                             np.ones(len(records), dtype=bool), grade_proba=p)


def _twins(n_pairs: int = 30) -> list[AssetRecord]:
    """Pairs of assets holding the same photo file (same sha256), each pair with one random grade."""
    rng = np.random.default_rng(0)
    out = []
    for j in range(n_pairs):
        g = GRADES[int(rng.integers(4))]
        for twin in "ab":
            img = ImageRef(f"p{j}{twin}-img", f"photo-{j}", lambda: b"")
            out.append(AssetRecord(f"p{j}{twin}", images=(img,), grade=g))
    return out


def test_assets_holding_the_same_file_are_never_on_both_sides_of_a_fold() -> None:
    _Memorising.log = []
    g = Grader(extractors=[_Memorising()], folds=3, seed=0).fit(_twins())
    fold_calls = _Memorising.log  # fit extracts with the fold extractors only
    assert len(fold_calls) == 3
    for trained, asked in fold_calls:
        assert not trained & asked, f"{len(trained & asked)} held-out files were in the fold's training part"
    # the grades are noise: with twins split over folds the out-of-fold accuracy read 0.77 (chance is 0.25)
    assert g.metrics_["accuracy"] < 0.5


def test_given_groups_are_kept_whole_and_joined_where_a_file_crosses_them() -> None:
    recs = _twins(12)
    # the caller's groups split every pair: asset a in group "ga", its twin b in "gb" -- the file links them
    groups = [f"g{r.asset_id[-1]}{int(r.asset_id[1:-1]) % 6}" for r in recs]
    _Memorising.log = []
    Grader(extractors=[_Memorising()], folds=2, seed=0).fit(recs, groups=groups)
    assert len(_Memorising.log) == 2
    for trained, asked in _Memorising.log:
        assert not trained & asked


def test_calibration_assets_that_were_trained_on_are_refused() -> None:
    recs = make_records(16)
    with pytest.raises(ValidationError, match="t000") as err:  # in-sample "held-out" calibration
        tiny_grader(extractors=("text",)).fit(recs, calibration=recs[:8])
    assert err.value.where == "Grader.fit.calibration"
    twin = AssetRecord("cal-1", images=recs[3].images, grade=recs[3].grade)  # another id, the same photo file
    with pytest.raises(ValidationError, match="cal-1"):
        tiny_grader(extractors=("vision",)).fit(recs, calibration=[twin])


def test_decision_settings_and_modality_labels_make_another_model_version() -> None:
    recs = make_records(16)

    def fitted(labels: dict[str, str] | None = None, **kw: object) -> Grader:
        kw = {"extractors": ("text",), "min_group_size": 30, **kw}
        return tiny_grader(**kw).fit(recs, modality_labels=None if labels is None else {"text": labels})

    base = fitted()
    others = [fitted(review_on_contradiction=False), fitted(review_on_quality=False), fitted(min_group_size=5),
              fitted({r.asset_id: "A" if i % 2 else "B" for i, r in enumerate(recs)}),
              fitted({r.asset_id: "A" if i % 4 else "C" for i, r in enumerate(recs)})]  # other own labels
    # each decided other assets (or learned other labels) under one version, so grade --changed and batch
    # grade's prediction ids took one model's results for the other's
    versions = [o.version_ for o in others]
    assert base.version_ not in versions and len(set(versions)) == len(versions)
    # at their defaults these settings are not hashed: versions of models trained before stay what they were
    s = version_settings(base)
    assert not {"review_on_contradiction", "review_on_quality", "min_group_size", "modality_labels"} & set(s)
    assert base.version_ == model_version(base.manifest_hash_, base.ontology_version_, base.code_version_, s)
