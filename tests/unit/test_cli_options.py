"""``assetgrade bench ...``: a bad option value fails at once, exit 2, naming the option, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError, NotFoundError, ValidationError

APP = build_app()


def run_bench(*args: str) -> tuple[int, str]:
    """Exit code and message as ``assetgrade`` (cli.app.main) gives them for our error tree."""
    res = CliRunner().invoke(APP, ["bench", *args])
    exc = res.exception
    if isinstance(exc, AssetgradeError):
        return exit_code_for(exc), str(exc)
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return res.exit_code, " ".join(res.output.split())


# one representative bad value per command and kind of check; the option each must name
BAD = [
    (["vision", "--per-class", "-1"], "--per-class"),
    (["vision", "--per-class", "0"], "--per-class"),
    (["vision", "--seed", "-1"], "--seed"),
    (["vision", "--images-per-asset", "0"], "--images-per-asset"),
    (["vision", "--folds", "1"], "--folds"),
    (["anomaly", "--per-class", "-1"], "--per-class"),
    (["anomaly", "--seed", "-1"], "--seed"),
    (["sensors", "--seed", "-1"], "--seed"),
    (["sensors", "--n-estimators", "-5"], "--n-estimators"),
    (["sensors", "--learning-rate", "-1"], "--learning-rate"),
    (["drift", "--share", "-0.5"], "--share"),
    (["drift", "--share", "0"], "--share"),
    (["drift", "--seed", "-1"], "--seed"),
    (["drift", "--batch-size", "0"], "--batch-size"),
    (["drift", "--streams", "0"], "--streams"),
    (["drift", "--clean-batches", "0"], "--clean-batches"),
    (["drift", "--gain", "0"], "--gain"),
    (["drift", "--contrast", "-1"], "--contrast"),
    (["drift", "--limit", "100"], "--batch-size"),  # the default batch of 200 does not fit 100 cells
    (["fidelity", "--seed", "-1"], "--seed"),
    (["fidelity", "--low-share", "-1"], "--low-share"),
    (["fidelity", "--high-share", "-0.3"], "--high-share"),
    (["fidelity", "--high-share", "1.5"], "--high-share"),
    (["fidelity", "--per-class", "0"], "--per-class"),
    (["fidelity", "--per-class", "2"], "--per-class"),
    (["label-noise", "--seed", "-1"], "--seed"),
    (["label-noise", "--per-class", "0"], "--per-class"),
    (["label-noise", "--per-class", "3"], "--per-class"),  # fewer than the 5 folds
    (["label-noise", "--pca-dim", "-5"], "--pca-dim"),
    (["label-noise", "--folds", "1"], "--folds"),
    (["label-noise", "--C", "-1"], "--C"),
    (["active", "--seed", "-1"], "--seed"),
    (["active", "--per-class", "0"], "--per-class"),
    (["active", "--max-labels", "-5"], "--max-labels"),
    (["active", "--C", "-1"], "--C"),
    (["fusion", "--seed", "-1"], "--seed"),
    (["fusion", "--seeds", "0,-1"], "--seeds"),
    (["fusion", "--coreset-size", "-1"], "--coreset-size"),
    (["scale", "--seed", "-1"], "--seed"),
    (["sensors", "--jobs", "0"], "--jobs"),  # LightGBM read 0 and -1 as "its default", not what was asked
    (["scale", "--shard-size", "0"], "--shard-size"),
    (["text", "--seed", "-1"], "--seed"),
    (["text", "--task", "classify", "--folds", "1"], "--folds"),
    (["text", "--task", "classify", "--dataset", "maintie"], "--dataset"),
    (["text", "--task", "entities", "--dataset", "csv"], "--dataset"),
    (["ui", "--assets", "-3"], "--assets"),
    (["ui", "--assets", "0"], "--assets"),
    (["grade-api", "--assets", "0"], "--assets"),
    (["grade-api", "--threads", "0"], "--threads"),
    (["service", "--readers", "-1"], "--readers"),
    (["service", "--read-rate", "-5"], "--read-rate"),
    (["service", "--duration", "0"], "--duration"),
    (["service", "--max-requests", "0"], "--max-requests"),
    (["service", "--assets", "0"], "--assets"),
    (["service", "--server-workers", "0"], "--server-workers"),
    (["service", "--readers", "0", "--reviewers", "0", "--stations", "0"], "--readers"),
    # seeds above 2**32-1 reached scikit-learn (KMeans, splitters) and ended in a traceback after the data was built
    *[([cmd, "--seed", str(2**32)], "--seed")
      for cmd in ("drift", "fidelity", "label-noise", "active", "fusion", "scale", "sensors")],
    (["fusion", "--seeds", f"0,{2**32}"], "--seeds"),
    (["fusion", "--seeds", "0-99999999999"], "--seeds"),  # refused before the range is spelled out
    (["fusion", "--seeds", "0-4294967295"], "--seeds"),  # in range, but four billion runs: refused before listing
]


@pytest.mark.parametrize(("args", "option"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_value_fails_fast_naming_the_option(args: list[str], option: str) -> None:
    code, message = run_bench(*args)
    assert code == 2, message
    assert option in message


def test_negation_refuses_a_folder(tmp_path: Path) -> None:
    code, message = run_bench("text", "--task", "negation", "--data-dir", str(tmp_path))
    assert code == 2 and "--data-dir" in message and "TSV" in message


def test_ingest_refuses_a_missing_scratch_folder_and_an_empty_data_set(tmp_path: Path) -> None:
    code, message = run_bench("ingest", "--workspace-dir", str(tmp_path / "missing" / "x"))
    assert code == 2 and "--workspace-dir" in message
    (tmp_path / "images").mkdir()
    code, message = run_bench("ingest", "--data-dir", str(tmp_path), "--workspace-dir", str(tmp_path))
    assert code == 2 and "--data-dir" in message and "no image" in message


def test_scale_refuses_a_folder_that_is_no_workspace(tmp_path: Path) -> None:
    code, message = run_bench("scale", "--workspace", str(tmp_path))
    assert code == 2 and "not an assetgrade workspace" in message


def test_drift_help_documents_limit() -> None:
    res = CliRunner().invoke(APP, ["bench", "drift", "--help"])
    assert res.exit_code == 0 and "--limit" in res.output


def test_drift_config_fits_batches_to_the_limit() -> None:
    from assetgrade.bench.drift import DriftBenchConfig, check_drift_config, reference_size

    cfg = DriftBenchConfig(limit=200, batch_size=40)
    check_drift_config(cfg, n_images=2624)
    assert reference_size(cfg, 2624) == 100
    assert reference_size(DriftBenchConfig(), 2624) == 1000  # the full run keeps its 1000-cell reference
    with pytest.raises(ValidationError, match="--batch-size"):
        check_drift_config(DriftBenchConfig(batch_size=400), n_images=700)


def test_option_ranges_say_what_is_allowed() -> None:
    from assetgrade.cli.options import at_least, interval, positive

    assert interval(0.0, 1.0, high_open=True)(None, 0.0) == 0.0
    with pytest.raises(ValidationError, match=r"1 is not allowed; it must be in \[0, 1\)"):
        interval(0.0, 1.0, high_open=True)(None, 1.0)
    with pytest.raises(ValidationError, match="-2 is not allowed; it must be > 0"):
        positive()(None, -2.0)
    with pytest.raises(ValidationError, match="-1 is not allowed; it must be >= 0"):
        at_least(0)(None, -1)
    assert positive()(None, None) is None
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValidationError, match="must be a finite number"):
            positive()(None, bad)


def test_option_errors_name_large_values_and_bounds_exactly() -> None:
    # ':g' printed 1.23457e+06 for 1234567 and 4.29497e+09 for the seed bound: neither names what was given
    from assetgrade.cli.options import SEED_MAX, at_least, interval, valid_seed

    with pytest.raises(ValidationError, match=r"1234567 is not allowed; it must be in \(0, 36500\]"):
        interval(0.0, 36_500.0, low_open=True)(None, 1234567.0)
    with pytest.raises(ValidationError, match=r"-1234567 is not allowed; it must be >= 1$"):
        at_least(1)(None, -1234567)
    with pytest.raises(ValidationError, match=r"0.125 is not allowed; it must be >= 0.25"):
        interval(0.25)(None, 0.125)
    with pytest.raises(ValidationError, match=rf"{2**32} is not allowed; it must be in \[0, {SEED_MAX}\]"):
        valid_seed()(None, 2**32)
    assert valid_seed()(None, SEED_MAX) == SEED_MAX


def test_an_output_file_is_checked_before_the_work(tmp_path: Path) -> None:
    from assetgrade.cli.options import check_output_file

    assert check_output_file(tmp_path / "a" / "b" / "r.html", "--html") == tmp_path / "a" / "b" / "r.html"
    with pytest.raises(ValidationError, match="is a folder") as exc:
        check_output_file(tmp_path, "--html")
    assert exc.value.where == "--html"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="is not a folder"):
        check_output_file(tmp_path / "file" / "r.html", "--json")


def test_unset_data_folder_variable_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.datasets.paths import dataset_dir, shared_data_dir

    missing = tmp_path / "nope"
    monkeypatch.setenv("ASSETGRADE_DATA", str(missing))
    with pytest.raises(NotFoundError, match=f"ASSETGRADE_DATA.*{missing.name}"):
        shared_data_dir()
    assert dataset_dir("neu-det", tmp_path) == tmp_path  # an explicit --data-dir does not need the variable
    monkeypatch.setenv("ASSETGRADE_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path.resolve()


def test_service_start_error_quotes_the_log(tmp_path: Path) -> None:
    from assetgrade.loadtest.server import ServiceProcess

    log = tmp_path / "service.log"
    log.write_text("an old run\n", encoding="utf-8")
    svc = ServiceProcess(tmp_path, log_path=log)
    svc._log_start = log.stat().st_size
    with log.open("a", encoding="utf-8") as f:
        f.write("Traceback ...\nValueError: --threads must be >= 1\n")
    tail = svc._log_tail()
    assert "--threads must be >= 1" in tail and "an old run" not in tail


# every command that writes a report file checks where before it starts the work; a folder given as the file
# must fail at once, exit 2, naming the option (not after minutes of work, exit 6)
OUTPUT_FILE_COMMANDS = [
    ["bench", "fusion"], ["bench", "ingest"], ["bench", "fidelity"], ["bench", "drift"], ["bench", "active"],
    ["bench", "label-noise"], ["bench", "scale"], ["bench", "service"], ["bench", "grade-api"], ["bench", "ui"],
    ["bench", "sensors"], ["review", "suggest"], ["review", "requests"], ["audit"],
]


@pytest.mark.parametrize("command", OUTPUT_FILE_COMMANDS, ids=" ".join)
def test_a_report_file_option_is_checked_before_the_work(command: list[str], tmp_path: Path) -> None:
    res = CliRunner().invoke(APP, [*command, "--json", str(tmp_path)])
    assert isinstance(res.exception, ValidationError), (command, res.exception, res.output)
    assert res.exception.where == "--json" and "is a folder" in str(res.exception)


def test_review_suggest_seed_is_checked_before_the_work(tmp_path: Path) -> None:
    # PCA(random_state=seed) refused 2**32 with a scikit-learn traceback after the grader had run
    res = CliRunner().invoke(APP, ["review", "suggest", "-w", str(tmp_path), "--seed", str(2**32)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert res.exception.where == "--seed" and "4294967295" in str(res.exception)


def test_audit_html_and_export_folder_are_checked_before_the_work(tmp_path: Path) -> None:
    res = CliRunner().invoke(APP, ["audit", "--html", str(tmp_path)])
    assert isinstance(res.exception, ValidationError) and res.exception.where == "--html"
    (tmp_path / "f").write_text("x", encoding="utf-8")
    res = CliRunner().invoke(APP, ["audit", "export", "--out", str(tmp_path / "f")])
    assert isinstance(res.exception, ValidationError) and res.exception.where == "--out"
    assert "is a file, not a folder" in str(res.exception)
    from assetgrade.cli.options import check_output_folder

    assert check_output_folder(tmp_path / "new" / "docs", "--out") == tmp_path / "new" / "docs"


@pytest.mark.parametrize("command", [["bench", "sensors"], ["bench", "fusion"]], ids=" ".join)
def test_a_plot_naming_the_json_file_is_refused_before_the_work(command: list[str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = CliRunner().invoke(APP, [*command, "--json", str(out), "--png", str(out)])
    assert isinstance(res.exception, ValidationError), (command, res.exception, res.output)
    assert res.exception.where == "--png" and not out.exists()  # the plot would have replaced the result


def test_a_plot_beside_a_png_named_json_file_gets_its_own_name(tmp_path: Path) -> None:
    from assetgrade.cli.options import plot_beside

    assert plot_beside(tmp_path / "r.png") == tmp_path / "r-plot.png"  # not r.png, the JSON itself
    assert plot_beside(tmp_path / "r.json") == tmp_path / "r.png"
    assert plot_beside(tmp_path / "r.json", tmp_path / "p.png") == tmp_path / "p.png"
