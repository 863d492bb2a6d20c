"""The workspace's ``grader:`` section: keys that are no grader setting are named with the ones that are."""

from __future__ import annotations

from assetgrade.grader_factory import check_grader_settings


def test_costs_and_ontology_under_grader_are_refused() -> None:
    # Grader(costs=<a mapping>) was built, and train then failed on the mapping with an AttributeError
    (costs,) = check_grader_settings({"costs": {"review_cost": 5}})
    assert costs.startswith("assetgrade.yaml:grader.costs: 'costs' is not a grader setting") and "costs:" in costs
    (onto,) = check_grader_settings({"ontology": "five.yaml"})
    assert onto.startswith("assetgrade.yaml:grader.ontology: 'ontology' is not a grader setting")


def test_an_unknown_key_lists_the_known_ones() -> None:
    (typo,) = check_grader_settings({"fols": 3})
    assert "unexpected keyword argument 'fols'; known keys: ['extractors'" in typo and "'folds'" in typo
    assert "'costs'" not in typo.split("known keys:")[1]
