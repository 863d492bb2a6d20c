"""The text benchmark: grouped classification on any CSV, negation sample parsing, CLI wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.bench.text import bench_classify, read_negation_sample
from assetgrade.cli.app import build_app
from assetgrade.errors import ValidationError

ROWS = [
    ("hose leaking", "bad"),
    ("pump leak", "bad"),
    ("seal leaking", "bad"),
    ("service ok", "good"),
    ("service done", "good"),
    ("routine service", "good"),
]


def write_csv(tmp_path: Path) -> Path:
    f = tmp_path / "logs.csv"
    lines = ["note,label,site"] + [f"{t},{lab},{i % 3}" for i, (t, lab) in enumerate(ROWS * 2)]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def test_grouped_classify_on_csv(tmp_path: Path) -> None:
    res = bench_classify(write_csv(tmp_path), "note", "label", "site", seed=0, folds=3, min_count=2)
    assert res.split == "3-fold grouped by site CV"
    assert res.metrics["accuracy"] >= 80.0 and res.extra["n_classes"] == 2
    with pytest.raises(ValidationError, match="nope"):
        bench_classify(write_csv(tmp_path), "nope", "label")


def test_negation_sample_rejects_bad_rows(tmp_path: Path) -> None:
    f = tmp_path / "neg.tsv"
    f.write_text("# comment\nex\tno leak\tleak\tnegated\nex\tpump ok\tpump\tmaybe\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"neg\.tsv:3"):
        read_negation_sample(f)


def test_cli_registers_bench_text(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(build_app(), ["bench", "text", "--task", "negation", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert '"text.negation"' in out.read_text()


def test_bench_normalize_rejects_unknown_eval_split(tmp_path: Path) -> None:
    from assetgrade.bench.text import bench_normalize

    with pytest.raises(ValidationError, match="eval split must be test or val"):
        bench_normalize(tmp_path, eval_split="train")
    result = CliRunner().invoke(build_app(), ["bench", "text", "--task", "normalize", "--eval-split", "dev"])
    assert result.exit_code != 0 and "eval split must be test or val" in str(result.exception)
