"""Usage errors of the installed command (``assetgrade``, ``cli.app.main``): a message and exit code 2, no traceback."""

from __future__ import annotations

import pytest

from assetgrade.cli.app import main


@pytest.mark.parametrize("argv", [["grade", "--nope"], ["train", "--folds", "x"], ["no-such-command"]])
def test_a_usage_error_is_a_message_and_exit_code_2(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["assetgrade", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 2 and "Error:" in err and "Traceback" not in err


def test_version_names_assetgrade_python_and_the_libraries_and_exits_0(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import platform
    from importlib import metadata

    from assetgrade.version import LIBRARIES, __version__

    monkeypatch.setattr("sys.argv", ["assetgrade", "--version"])
    try:
        main()  # returns: exit status 0
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out
    first, second = out.strip().splitlines()
    assert first.split()[:2] == ["assetgrade", __version__]
    assert f"Python {platform.python_version()}" in second
    assert f"torch {metadata.version('torch')}" in second and f"numpy {metadata.version('numpy')}" in second
    assert second.count(" · ") == len(LIBRARIES)  # every package, installed or said not to be


def test_version_says_a_package_that_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade import version
    from assetgrade.cli import app

    monkeypatch.setattr(version, "LIBRARIES", ("numpy", "no-such-distribution-xyz"))
    assert app.version_text().splitlines()[1].endswith(" · no-such-distribution-xyz not installed")
