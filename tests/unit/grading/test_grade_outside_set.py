"""The Grader never auto-accepts a grade outside the asset's conformal set; ``review_outside_set`` is its setting."""

from __future__ import annotations

import dataclasses

from assetgrade.grader_factory import check_grader_settings
from assetgrade.grading.fitting import version_settings

from .conftest import make_records, tiny_grader


def test_cheap_assets_graded_outside_their_set_go_to_review() -> None:
    recs, new = make_records(16), make_records(16, seed=1)
    kw = {"extractors": ("sensors",), "max_expected_cost": 150.0}
    rule, off = tiny_grader(**kw).fit(recs), tiny_grader(review_outside_set=False, **kw).fit(recs)
    # assets worth 1: over-grading costs the 500 dispute, under-grading next to nothing, so the
    # cost-optimal grade is often worse than every grade of the set, at an expected cost far under the threshold
    cheap = [dataclasses.replace(r, asset_id=f"cheap-{i}", value=1.0) for i, r in enumerate(new)]
    was = {r.asset_id: r for r in off.grade_many(cheap)}  # switched off: the cost rule alone, as before the fix
    outside = [r for r in rule.grade_many(cheap) if r.grade not in r.conformal_set]
    assert outside and all(r.expected_cost < 150.0 for r in outside)
    assert any(was[r.asset_id].decision == "accept" for r in outside)  # e.g. D accepted with the set {A}
    for r in outside:
        assert r.decision == "review", r
        said = f"the chosen grade {r.grade} (lowest expected cost {r.expected_cost:,.0f}) is not in the prediction set"
        assert f"{said} {{{', '.join(r.conformal_set)}}}" in r.reasons
    # the setting decides other assets, so it is part of the model's identity (absent at its default)
    assert rule.policy_.review_outside_set and not off.policy_.review_outside_set
    assert all(not pol.review_outside_set for _stack, pol in off.single_.values())  # the per-modality references
    assert "review_outside_set" not in version_settings(rule) and version_settings(off)["review_outside_set"] is False
    assert rule.version_ != off.version_


def test_the_setting_is_checked_where_the_grader_section_is_read() -> None:
    assert check_grader_settings({"review_outside_set": "off"}) == [
        "assetgrade.yaml:grader.review_outside_set: review_outside_set='off' must be true or false"]
    assert check_grader_settings({"review_outside_set": False}) == []
    assert check_grader_settings({"review_outside_set": "no"}) == []  # the file's yes/no words, as config.YesNo
