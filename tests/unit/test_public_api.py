"""The package's public API: every name in ``__all__`` imports, and nothing else leaks in."""

from __future__ import annotations

import subprocess
import sys

import assetgrade


def test_every_public_name_imports() -> None:
    for name in assetgrade.__all__:
        assert getattr(assetgrade, name) is not None, name
    assert sorted(assetgrade.__all__) == sorted(set(assetgrade.__all__))


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        assetgrade.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = "import sys, assetgrade; print('torch' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
