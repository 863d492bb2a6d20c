"""``bench vision --C``: a positive number or ``auto``."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.cli.bench_vision import _penalty
from assetgrade.errors import ValidationError


def test_penalty_option() -> None:
    assert _penalty("auto") is None and _penalty("AUTO ") is None
    assert _penalty("0.5") == 0.5
    for bad in ("-1", "0", "strong"):
        with pytest.raises(ValidationError, match="--C"):
            _penalty(bad)


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (["vision", "--json", "{tmp}"], "--json", "is a folder"),
        (["vision", "--out-dir", "{tmp}/file.txt"], "--out-dir", "is a file"),
        (["vision", "--finetune", "--finetune-epochs", "0"], "--finetune-epochs", "must be >= 1"),
        (["vision", "--finetune", "--finetune-budget", "-1"], "--finetune-budget", "must be > 0"),
        (["vision", "--finetune-size", "100"], "--finetune-size", "multiple of 32"),
        (["vision", "--image-size", "0"], "--image-size", "multiple of 32"),
        (["anomaly", "--dataset", "neu", "--json", "{tmp}"], "--json", "is a folder"),
        (["anomaly", "--dataset", "neu", "--image-size", "20"], "--image-size", "multiple of 32"),
        (["vision", "--seed", str(2**32)], "--seed", "[0, 4294967295]"),
        (["anomaly", "--dataset", "neu", "--seed", "-1"], "--seed", "[0, 4294967295]"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path: Path, args: list[str], where: str, message: str) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    (tmp_path / "file.txt").write_text("x")
    # a data folder that does not exist: an option checked only after loading would fail on it instead
    argv = ["bench", *[a.replace("{tmp}", str(tmp_path)) for a in args], "--data-dir", str(tmp_path / "none")]
    r = CliRunner().invoke(build_app(), argv)
    assert isinstance(r.exception, ValidationError), r.output
    assert r.exception.where == where and message in str(r.exception)
