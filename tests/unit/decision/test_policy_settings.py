"""The workspace's ``policy:`` section: values of the wrong type or out of range are named in the file."""

from __future__ import annotations

import pytest

from assetgrade.config import parse_config
from assetgrade.errors import ValidationError


@pytest.mark.parametrize(("text", "field", "says"), [
    # .inf passed the section and was then refused as Grader.max_expected_cost, naming no file
    ("policy: {max_expected_cost: .inf}", "max_expected_cost", "finite number"),
    ("policy: {max_expected_cost: .nan}", "max_expected_cost", "finite number"),
    # YAML's true became a set-size limit of 1; a quoted number became a number
    ("policy: {review_if_set_size_over: true}", "review_if_set_size_over", "valid integer"),
    ("policy: {review_if_set_size_over: 2.5}", "review_if_set_size_over", "valid integer"),
    ("policy: {coverage: '0.8'}", "coverage", "valid number"),
    ("policy: {coverage: 1}", "coverage", "less than 1"),
])
def test_bad_policy_values_name_the_file_and_field(text: str, field: str, says: str) -> None:
    with pytest.raises(ValidationError, match=rf"ws/assetgrade.yaml:line 1:column 10:policy\.{field}: .*{says}"):
        parse_config(text, "ws/assetgrade.yaml")


def test_good_policy_values_load() -> None:
    policy = parse_config("policy: {coverage: 0.8, review_if_set_size_over: 2, max_expected_cost: 300}", "t").policy
    assert (policy.coverage, policy.review_if_set_size_over, policy.max_expected_cost) == (0.8, 2, 300.0)
    assert parse_config("policy: {max_expected_cost: null}", "t").policy.max_expected_cost is None


@pytest.mark.parametrize(("text", "field"), [
    ("ingest_group_size: true", "ingest_group_size"),  # became a group size of 1
    ("version: true", "version"),
    ("max_image_pixels: '1000'", "max_image_pixels"),
    ("evidence_cache_max_gb: .inf", "evidence_cache_max_gb"),
])
def test_workspace_numbers_are_read_strictly(text: str, field: str) -> None:
    with pytest.raises(ValidationError, match=rf"ws/assetgrade.yaml:line 1:column 1:{field}: "):
        parse_config(text, "ws/assetgrade.yaml")
    assert parse_config("ingest_group_size: 50\nevidence_cache_max_gb: 1\n", "t").evidence_cache_max_gb == 1.0


def test_an_emptied_section_sets_nothing() -> None:
    # every line under `policy:` / `costs:` commented out leaves null: it was refused as not a mapping
    cfg = parse_config("policy:\n#  coverage: 0.8\ncosts:\n#  review_cost: 50\ngrader:\n", "ws/assetgrade.yaml")
    assert cfg.policy.coverage == 0.9 and not cfg.policy.model_fields_set
    assert cfg.section("costs") == {} and cfg.section("grader") == {}


def test_config_set_keeps_a_string_that_yaml_1_1_would_read_otherwise() -> None:
    from assetgrade.config import set_in_text

    text = "verify_blobs_on_read: no\npolicy:\n  coverage: 0.9\n"
    # written unquoted by the YAML 1.2 editor, `NO` came back from the YAML 1.1 reader as False
    for value in ("NO", "on", "yes", "1_000", "1:20", "null"):
        assert parse_config(set_in_text(text, "costs.currency", value), "t").section("costs") == {"currency": value}
    nested = parse_config(set_in_text(text, "grader.x", {"a": "off", "b": ["y", "plain"]}), "t").section("grader")
    assert nested == {"x": {"a": "off", "b": ["y", "plain"]}}
    out = set_in_text(text, "costs.currency", "EUR")
    assert "currency: EUR" in out and "verify_blobs_on_read: no" in out  # the rest is written as it was
    assert parse_config(out, "t").verify_blobs_on_read is False
