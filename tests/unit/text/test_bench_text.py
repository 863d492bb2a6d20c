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
    assert result.exit_code == 2 and "Invalid value for '--eval-split'" in " ".join(result.output.split())


def _lines(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def test_classify_reports_bad_and_dropped_rows(tmp_path: Path) -> None:
    body = "".join(f"{t},{lab},{i % 3}\n" for i, (t, lab) in enumerate(ROWS * 2))
    # a first row with more cells than the header used to shift every column (pandas took it as an index)
    f = _lines(tmp_path, "x.csv", "note,label,site\nhose leak,bad,0,extra\nno text here,NA,1\n,bad,1\n"
                                  "lone,odd,2\nleak,bad,\n" + body)
    res = bench_classify(f, "note", "label", "site", seed=0, folds=3, min_count=2)
    assert res.extra["n_texts"] == 12 and res.extra["n_rows"] == 17
    assert res.extra["bad_rows"] == 2  # extra cell, empty group
    assert res.extra["dropped"] == {"no_text": 1, "no_label": 1, "unspecified": 0, "rare_class": 1}
    assert "x.csv:2" in res.extra["bad_row_errors"][0] and "x.csv:6:site" in res.extra["bad_row_errors"][1]


@pytest.mark.parametrize(("content", "args", "match"), [
    ("", {}, "file is empty"),
    ("note,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(6)), {"folds": 5}, "lower --folds"),
    ("note,label,site\n" + "".join(f"t{i},{'ab'[i % 2]},s\n" for i in range(6)), {"group_column": "site"},
     "at least 2 groups"),
    ('note,label\n"open,a\nx,b\n', {}, "never closed"),
    ("note,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(40)), {"group_column": "label"},
     "copying the label"),
])
def test_classify_refuses_unusable_csv_clearly(tmp_path: Path, content: str, args: dict, match: str) -> None:
    f = _lines(tmp_path, "bad.csv", content)
    with pytest.raises(ValidationError, match=match):
        bench_classify(f, "note", "label", min_count=1, **args)


def test_cli_classify_empty_csv_exits_2_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.cli.app import main

    f = _lines(tmp_path, "empty.csv", "")
    monkeypatch.setattr("sys.argv", ["assetgrade", "bench", "text", "--task", "classify", "--dataset", "csv",
                                     "--data-dir", str(f)])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 2 and "file is empty" in err and "Traceback" not in err


def test_extract_names_the_file_it_read_and_bad_options_by_flag(tmp_path: Path) -> None:
    from assetgrade.bench.text import bench_entities, bench_extract

    f = _lines(tmp_path, "fleet.csv",
               "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n2004-07-01,A,hose leak,PM01,1\n")
    res = bench_extract(f, embedder="none")
    assert res.dataset == "csv:fleet.csv" and res.extra["n_entries"] == 1
    with pytest.raises(ValidationError, match="--embedder"):
        bench_extract(f, embedder="bogus")
    with pytest.raises(ValidationError, match="--granularity"):
        bench_entities(f, granularities=(7,))


@pytest.mark.parametrize(("content", "match"), [(b"ex\tno leak \xff\tleak\tnegated\n", "not UTF-8"),
                                                (b"# comments only\n", "no labelled rows"), (b"", "no labelled rows")])
def test_negation_sample_unreadable_or_empty_is_named(tmp_path: Path, content: bytes, match: str) -> None:
    f = tmp_path / "neg.tsv"
    f.write_bytes(content)
    with pytest.raises(ValidationError, match=match):
        read_negation_sample(f)


def test_cli_json_folder_is_refused_before_the_benchmark_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["bench", "text", "--task", "negation", "--json", str(tmp_path)])
    assert result.exit_code != 0 and "--json" in result.output + str(result.exception)
    assert "text.negation" not in result.output  # refused before the run, not after it


def test_cli_seed_beyond_what_the_splitters_take_is_refused(tmp_path: Path) -> None:
    args = ["bench", "text", "--task", "classify", "--dataset", "csv", "--data-dir", str(write_csv(tmp_path)),
            "--text-column", "note", "--label-column", "label", "--min-count", "2", "--folds", "2"]
    result = CliRunner().invoke(build_app(), [*args, "--seed", "5000000000"])
    assert result.exit_code != 0 and "--seed" in result.output + str(result.exception)
    assert CliRunner().invoke(build_app(), [*args, "--seed", str(2**32 - 1)]).exit_code == 0


def test_extract_with_no_readable_work_order_is_refused_not_timed(tmp_path: Path) -> None:
    from assetgrade.bench.text import bench_extract

    f = _lines(tmp_path, "bad.csv", 'BscStartDate,Asset,OriginalShorttext,PMType,Cost\n2004-07-01,A,"leak,PM01,1\n')
    with pytest.raises(ValidationError, match=r"no work order could be read .* never closed"):
        bench_extract(f, embedder="none")
