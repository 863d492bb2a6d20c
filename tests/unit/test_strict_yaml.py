"""The settings and ontology YAML reader: YAML 1.2 plain scalars, duplicate keys refused."""

from __future__ import annotations

import math

import pytest

from assetgrade.config import parse_config
from assetgrade.strict_yaml import load_unique


@pytest.mark.parametrize(("text", "value"), [
    ("no", "no"), ("No", "No"), ("off", "off"), ("y", "y"), ("yes", "yes"),  # 1.1: booleans
    ("true", True), ("False", False),
    ("1:20", "1:20"), ("010", 10), ("0o17", 15), ("0x1F", 31), ("64_000_000", 64_000_000),  # 1.1: 80, 8
    ("-1.5", -1.5), ("1e3", 1000.0), (".5", 0.5), ("12abc", "12abc"), ("1.2.3", "1.2.3"), ("~", None),
    ("0x_", "0x_"), ("0o_", "0o_"), ("0x", "0x"),  # a prefix without digits is text, not int('')
])
def test_plain_scalars_resolve_as_in_yaml_12(text: str, value: object) -> None:
    got = load_unique(f"k: {text}")["k"]
    assert got == value and type(got) is type(value)


def test_infinities_and_nan_are_floats() -> None:
    got = load_unique("a: .inf\nb: -.Inf\nc: .nan")
    assert got["a"] == math.inf and got["b"] == -math.inf and math.isnan(got["c"])


def test_workspace_settings_read_plain_scalars_as_yaml_12() -> None:
    cfg = parse_config("version: 1\nmax_image_pixels: 64_000_000\ningest_group_size: 0100\n"
                       "verify_blobs_on_read: yes\ncosts:\n  currency: NO\n  ratio: 1:20\n", where="assetgrade.yaml")
    assert cfg.max_image_pixels == 64_000_000 and cfg.ingest_group_size == 100  # 1.1: octal 64
    assert cfg.verify_blobs_on_read is True  # a yes/no setting still takes yes and no
    assert cfg.section("costs") == {"currency": "NO", "ratio": "1:20"}  # 1.1: False and 80
