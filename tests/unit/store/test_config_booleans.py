"""Yes/no settings in ``assetgrade.yaml`` are strict as number settings are: ``verify_blobs_on_read: 1`` was
read as true (pydantic's lax bool also took ``0``, ``"on"``, ``"t"``, ``"1"``), although ``ingest_group_size: true``
is refused. ``true``/``false`` are taken, and ``yes``/``no`` as store.md says (YAML 1.1 read them as booleans)."""

from __future__ import annotations

import pytest

from assetgrade.config import parse_config
from assetgrade.errors import ValidationError

HEAD = "version: 1\n"


@pytest.mark.parametrize("value", ["1", "0", "2", "1.0", "on", "off", "t", "'1'", "'true'", "null", "[true]"])
def test_a_yes_no_setting_refuses_what_is_not_true_or_false(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_config(f"{HEAD}verify_blobs_on_read: {value}\n", "ws/assetgrade.yaml")
    assert exc.value.where == "ws/assetgrade.yaml:line 2:column 1:verify_blobs_on_read", exc.value.where
    assert "true or false" in exc.value.reason, exc.value.reason


@pytest.mark.parametrize(("value", "read"), [("true", True), ("false", False), ("True", True), ("FALSE", False),
                                             ("yes", True), ("no", False), ("Yes", True), ("NO", False)])
def test_true_false_and_the_documented_yes_no_are_taken(value: str, read: bool) -> None:
    assert parse_config(f"{HEAD}verify_blobs_on_read: {value}\n", "ws/assetgrade.yaml").verify_blobs_on_read is read
