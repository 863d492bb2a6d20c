"""``check_class``: the registered class of a check, looked up without building one."""

from __future__ import annotations

import re

import pytest

from assetgrade.audit.base import available_checks, check_class, get_check, register_check
from assetgrade.audit.params import setting_names, written_settings
from assetgrade.errors import ValidationError


def test_every_registered_name_gives_the_class_that_builds_it() -> None:
    for name in available_checks():
        cls = check_class(name)
        assert cls.name == name
        assert type(get_check(name)) is cls


def test_an_unknown_name_is_refused_naming_the_known_checks() -> None:
    with pytest.raises(ValidationError, match="unknown audit check 'no_such_check'; known: ") as err:
        check_class("no_such_check")
    known = re.search(r"known: \[(.*)\]", str(err.value))
    assert known is not None
    assert [k.strip(" '") for k in known.group(1).split(",")] == sorted(available_checks())


def test_a_plug_in_is_found_without_building_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.audit import base

    built: list[str] = []

    class Probe:
        def __init__(self, *, level: int) -> None:  # no default: building it without settings fails
            built.append("built")

        def run(self, data: object) -> None: ...

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))  # register only for this test
    register_check("probe_plug_in")(Probe)
    assert check_class("probe_plug_in") is Probe
    with pytest.raises(ValidationError, match=r"known: \[.*'probe_plug_in'"):
        check_class("nope")
    assert setting_names("probe_plug_in") == ["level"]
    assert written_settings("probe_plug_in", {"level": 3}) == {"level": 3}
    assert built == []
