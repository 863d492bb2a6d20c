"""The Grader certifies its review threshold on the assets its whole policy would accept (decision.md)."""

from __future__ import annotations

import dataclasses

import numpy as np

from assetgrade.grading.decide import decide_asset
from assetgrade.store.records import AssetRecord

from .conftest import tiny_grader


def test_the_grader_leaves_out_what_its_other_rules_review(records: list[AssetRecord]) -> None:
    g = tiny_grader(extractors=("text",), coverage=0.99).fit(records)  # one modality: no contradictions or flags
    others = dataclasses.replace(g.policy_, max_expected_cost=float("inf"))
    oof = g.oof_
    sets = [[g.grades_[j] for j in np.flatnonzero(row)] for row in oof["membership"]]
    values = {r.asset_id: r.value for r in records}
    reviewed = [decide_asset(others, oof["proba"][i], conformal_set=sets[i], contradictions=(),
                             value=values[aid], image_flags=()).action == "review"
                for i, aid in enumerate(oof["asset_ids"])]
    assert sum(reviewed) > 0  # wide (99 %) out-of-fold sets send some to review whatever their cost
    assert g.threshold_choice_.n_other_review == sum(reviewed)
    assert g.threshold_choice_.n_calibration == len(oof["asset_ids"])
