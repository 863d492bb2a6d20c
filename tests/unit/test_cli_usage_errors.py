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
