"""Follow-ups of the CLI audit: ``--json -`` is stdout (one JSON document, tables on stderr), the one NaN-safe
serialiser, gc's grace period, tables in a pipe, demo limits, option help, and exit codes of bad path arguments."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError, ValidationError

APP = build_app()
NAN = float("nan")


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def invoke(*args: str) -> Any:
    return CliRunner().invoke(APP, list(args))


def code_of(res: Any) -> int:
    """The exit code ``assetgrade`` (cli.app.main) gives: our errors are mapped, an OSError would be 1/3/5."""
    exc = res.exception
    if isinstance(exc, AssetgradeError):
        return exit_code_for(exc)
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return int(res.exit_code)


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace; the current folder is a fresh empty one (a file named '-' would show there)."""
    from assetgrade.workspace import Workspace

    folder = tmp_path / "ws"
    Workspace.init(folder).close()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("COLUMNS", raising=False)
    return folder


def _one_document(res: Any) -> Any:
    assert res.exit_code == 0, (res.exception, res.output)
    doc = json.loads(res.stdout)  # stdout is exactly one JSON document: tables and notes went to stderr
    assert res.stdout.strip() == res.stdout.rstrip("\n") and "NaN" not in res.stdout, res.stdout
    assert not list(Path.cwd().iterdir()), list(Path.cwd().iterdir())  # no file named '-' (nor '-.png')
    return doc


# --- 1 and 2: --json - is stdout, through one NaN-safe serialiser --------------------------------------------------

# commands (not bench) whose --json takes a FILE; each is run below with `--json -`
JSON_FILE_COMMANDS = {"evaluate", "audit", "review suggest", "review requests"}


def test_the_commands_taking_a_json_file_are_the_ones_tested_here() -> None:
    found = {name for name, cmd in _commands(typer.main.get_command(APP))
             for p in cmd.params if "--json" in getattr(p, "opts", ()) and not p.is_flag}
    assert {n for n in found if not n.startswith("bench ")} == JSON_FILE_COMMANDS
    assert {n for n in found if n.startswith("bench ")} == {f"bench {b}" for b in BENCH_RUNNERS}


def test_review_requests_json_dash_is_stdout(ws: Path) -> None:
    res = invoke("review", "requests", "-w", str(ws), "--json", "-")
    doc = _one_document(res)  # before: a file named '-' and the table on stdout
    assert doc == {"status": "open", "total": 0, "offset": 0, "requests": []}
    assert "Label requests: open (0)" in res.stderr


def test_review_suggest_json_dash_is_stdout(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.review.suggest import LabelRound, LabelSuggestion

    row = LabelSuggestion(rank=1, asset_id="pump-01", predicted_grade="B", confidence=0.5, margin=NAN,
                          expected_cost=100.0, chosen_by="typiclust")
    monkeypatch.setattr("assetgrade.review.suggest.label_round", lambda *a, **k: LabelRound(
        strategy="typiclust", seed=0, model_version="grader-x", labelled=3, assets=9, suggestions=[row]))
    res = invoke("review", "suggest", "-w", str(ws), "--json", "-")
    doc = _one_document(res)
    assert doc["suggestions"][0]["asset_id"] == "pump-01" and doc["suggestions"][0]["margin"] is None
    assert "pump-01" in res.stderr and "Label them in the review UI" in res.stderr


class _FakeGrader:
    def __init__(self) -> None:
        self.folds, self.seed, self.n_train_, self.version_ = 2, 0, 8, "grader-nan"
        self.notes_ = ["text left out: no log"]
        self.metrics_: dict[str, Any] = {"accuracy": 0.5, "qwk": NAN, "per_grade": {"A": NAN}}

    def fit(self, ws: object, progress: object = None) -> _FakeGrader:
        return self


@pytest.fixture()
def fake_evaluate(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table

    monkeypatch.setattr("assetgrade.cli.grading._make_grader", lambda *a: _FakeGrader())
    monkeypatch.setattr("assetgrade.grading.evaluate.evaluation_plots", lambda g, out: {})
    monkeypatch.setattr("assetgrade.grading.evaluate.metrics_table",
                        lambda m, title: Table("figure", "value", title=title))


@pytest.mark.usefixtures("fake_evaluate")
def test_evaluate_json_dash_is_stdout_and_a_nan_metric_is_null(ws: Path) -> None:
    res = invoke("evaluate", "-w", str(ws), "--json", "-")
    doc = _one_document(res)
    assert doc["metrics"] == {"accuracy": 0.5, "qwk": None, "per_grade": {"A": None}}
    assert "figure" in res.stderr and "note: text left out" in res.stderr  # the table and notes


@pytest.mark.usefixtures("fake_evaluate")
def test_evaluate_json_file_writes_no_bare_nan(ws: Path) -> None:
    # json.dumps(default=float) wrote `"qwk": NaN`, which no JSON parser but Python's accepts
    out = ws.parent / "deep" / "er" / "e.json"
    res = invoke("evaluate", "-w", str(ws), "--json", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "NaN" not in text and json.loads(text)["metrics"]["qwk"] is None


def test_audit_json_dash_is_stdout(ws: Path) -> None:
    m = ws.parent / "m.csv"
    m.write_text("asset_id,kind,text,grade\n" + "".join(f"a-{i},log,entry {i},{'AB'[i % 2]}\n" for i in range(6)),
                 encoding="utf-8")
    assert invoke("ingest", "manifest", str(m), "-w", str(ws)).exit_code == 0
    res = invoke("audit", "-w", str(ws), "--checks", "imbalance", "--json", "-")
    doc = _one_document(res)
    assert doc["n_items"] == 6 and "imbalance" in doc["checks"]
    assert "audit of 6 items" in res.stderr
    assert not (ws / "reports" / "audit.json").exists()  # the report went to stdout instead


def test_audit_progress_bar_is_not_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from assetgrade.audit import AuditData, run_checks

    ids = ["a", "b", "c", "d"]
    data = AuditData(pd.DataFrame({"item_id": ids, "asset_id": ids, "label": ["A", "B", "A", "B"]}))
    run_checks(data, ["imbalance"], progress=True)
    assert capsys.readouterr() == ("", "")  # it drew on stdout (a blank line into `audit --json -`)


def _bench_result(*args: Any, **kwargs: Any) -> Any:
    from assetgrade.bench.report import BenchResult

    _bench_calls.append((args, kwargs))
    return BenchResult(benchmark="fake", dataset="d", split="s", seed=0, metrics={"m": NAN}, wall_s=0.0)


_bench_calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

# bench command -> the library functions it calls (replaced: no benchmark runs here)
BENCH_RUNNERS: dict[str, list[str]] = {
    "vision": ["assetgrade.bench.vision.run_vision_bench"],
    "anomaly": ["assetgrade.bench.anomaly.run_anomaly_bench"],
    "ingest": [],
    "series-ingest": [],  # run for real on a 0.1 MiB file
    "fidelity": ["assetgrade.bench.fidelity.run_fidelity_bench", "assetgrade.bench.fidelity.check_fidelity_config"],
    "adversarial-null": ["assetgrade.bench.adversarial_null.run_adversarial_null_bench"],
    "drift": ["assetgrade.bench.drift.run_drift_bench", "assetgrade.bench.drift.check_drift_config"],
    "text": ["assetgrade.bench.text.bench_normalize"],
    "active": ["assetgrade.bench.active.run_active_bench"],
    "label-noise": ["assetgrade.bench.label_noise.run_label_noise_bench"],
    "sensors": ["assetgrade.bench.sensors.run_sensors_benchmark"],
    "fusion": ["assetgrade.bench.fusion.run_fusion_benchmark"],
    "scale": ["assetgrade.bench.scale.run_scale_bench", "assetgrade.bench.scale.check_scale_inputs"],
    "service": ["assetgrade.loadtest.bench.run_service_bench"],
    "grade-api": ["assetgrade.loadtest.grade_bench.run_grade_api_bench"],
    "ui": ["assetgrade.loadtest.ui_bench.run_ui_bench"],
}


def _paths(value: Any) -> Iterator[Path]:
    if isinstance(value, Path):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _paths(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _paths(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _paths(v)


def _fake_ingest_bench(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    from types import SimpleNamespace

    (root / "a.jpg").write_bytes(b"x")

    class Ingestor:
        def __init__(self, *a: object, **k: object) -> None:
            pass

        def run(self, items: object) -> object:
            return SimpleNamespace(added={"evidence": 1}, skipped_existing=0, errors=[])

    monkeypatch.setattr("assetgrade.datasets.paths.dataset_dir", lambda name, given: root)
    monkeypatch.setattr("assetgrade.ingest.writer.Ingestor", Ingestor)
    monkeypatch.setattr("assetgrade.ingest.detection.voc_items", lambda *a, **k: [])


@pytest.mark.parametrize("bench", list(BENCH_RUNNERS))
def test_bench_json_dash_prints_the_one_document_and_writes_no_file(
        bench: str, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--json -` wrote a file named '-' (and a plot '-.png', PNGs into '.') besides printing the JSON
    _bench_calls.clear()
    for target in BENCH_RUNNERS[bench]:
        monkeypatch.setattr(target, _bench_result if "check" not in target else (lambda *a, **k: None))
    if bench == "ingest":
        (tmp_path / "neu").mkdir()
        _fake_ingest_bench(monkeypatch, tmp_path / "neu")
    res = invoke("bench", bench, *(["--size-mib", "0.1"] if bench == "series-ingest" else []), "--json", "-")
    doc = _one_document(res)
    assert doc["metrics"] == ({"m": None} if bench not in ("ingest", "series-ingest") else doc["metrics"])
    bad = [p for args, kwargs in _bench_calls for p in _paths([args, kwargs]) if p.name in ("-", "-.png", "")]
    assert bad == [], bad


def test_a_json_file_still_gets_the_document(ws: Path) -> None:
    out = ws.parent / "r.json"
    res = invoke("review", "requests", "-w", str(ws), "--json", str(out))
    assert res.exit_code == 0 and json.loads(out.read_text(encoding="utf-8"))["total"] == 0
    assert "Label requests" in res.stdout  # the table stays on stdout when the JSON goes to a file


def test_json_text_is_strict_json() -> None:
    from assetgrade.cli.jsonout import json_text

    text = json_text({"a": NAN, "b": [math.inf, 1.5], "c": Path("x")})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": "x"}


# --- 3: the library refuses a grace period that is not a finite number ---------------------------------------------

@pytest.mark.parametrize("grace", [NAN, math.inf, -1.0])
def test_blob_gc_refuses_a_grace_that_is_not_a_finite_number_at_least_0(grace: float) -> None:
    from assetgrade.store.blob_gc import collect_blob_garbage
    from assetgrade.store.blobs import BlobStore

    store = BlobStore(f"memory://gc-grace-{grace}")
    orphan = store.put_bytes(b"orphan written a moment ago")
    with pytest.raises(ValidationError) as err:  # nan: every age comparison False, so every orphan was deleted
        collect_blob_garbage(store, {"0" * 64}, grace_s=grace)
    assert err.value.where == "grace_s" and store.exists(orphan)


# --- 4: a table in a pipe keeps whole ids -----------------------------------------------------------------------

def test_models_list_in_a_pipe_keeps_the_whole_version_id(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime
    from types import SimpleNamespace

    version = "grader-20261202T033737-5f0c2a9e1b7d4c3a"
    row = SimpleNamespace(version=version, status="candidate", created_at=datetime(2026, 12, 2, 3, 37, 37),
                          parent_version="grader-20261201T101010-0123456789abcdef", ontology_version="2026.11-plant",
                          code_version="0.9.0+g0123456789ab", golden={"default": {"overall": {"accuracy": 0.875}}},
                          is_champion=False)
    monkeypatch.setattr("assetgrade.lifecycle.registry.ModelRegistry.list", lambda self, status=None: [row])
    res = invoke("models", "list", "-w", str(ws))  # no terminal anywhere (CliRunner; no COLUMNS): cron, CI
    assert res.exit_code == 0, res.output
    assert version in res.stdout and "0.9.0+g0123456789ab" in res.stdout, res.stdout  # was 'grader-7…' at 80
    assert "\x1b" not in res.stdout  # still plain text in a pipe


def test_columns_still_sets_the_width_in_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    # a fresh console: rich fixes a console's width from $COLUMNS when it is made, and pytest-xdist's
    # workers start with COLUMNS=80, so the module's console read 80 there (CI: 80 == 60)
    from assetgrade.cli import console as cli_console

    monkeypatch.setenv("COLUMNS", "60")
    assert type(cli_console.console)(markup=False).width == 60
    monkeypatch.delenv("COLUMNS")
    assert type(cli_console.console)(markup=False).width >= 200


# --- 5: demo limits and its pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [("--n-assets", "99999999999999999999"), ("--n-assets", "100001"),
                                               ("--reports", "99999999999999999999"), ("--folds", str(2**70))])
def test_demo_refuses_sizes_beyond_its_bounds_before_any_work(
        option: str, value: str, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*a: object, **k: object) -> None:
        raise AssertionError("the demo ran")

    monkeypatch.setattr("assetgrade.grading.demo.run_demo", never)
    res = invoke("demo", "-w", str(ws.parent / "demo"), option, value)
    assert code_of(res) == 2 and getattr(res.exception, "where", None) == option, (res.exception, res.output)


def test_demo_index_page_renders(tmp_path: Path) -> None:
    from assetgrade.grading.demo import _write_index

    summary = {"workspace": "w", "assets": 3, "model_version": "grader-x", "grade_mix": {"A": 2, "B": 1},
               "decisions": {"accept": 2, "review": 1},
               "oof": {"n": 3, "accuracy": 0.5, "qwk": 0.25, "ece": 0.1, "coverage": 0.9, "mean_set_size": 1.5,
                       "expected_cost": 10.0, "accept_rate_at_error": 0.5, "auto_accept_rate": 0.5,
                       "accepted_error": 0.0},
               "oof_per_modality": {"text": {"accuracy": 0.5, "qwk": 0.2, "ece": 0.1, "expected_cost": 12.0,
                                             "extractor_accuracy_on_own_label": None}},
               "calibration": "split", "review_threshold": 5.0, "reports": ["/x/grade-a.html"],
               "plots": {"reliability": "/x/rel.png"}, "timings_s": {"train_s": 1.0}, "wall_s": 2.0, "notes": [],
               "index": "index.html", "ingest": {"added": {}, "skipped_existing": 0, "errors": 0},
               "fleet_rul": {}, "model_dir": "m"}
    page = _write_index(tmp_path / "index.html", summary, coverage=0.9).read_text(encoding="utf-8")
    assert "grade-a.html" in page and "rel.png" in page


# --- 6: every option says what it does, bench and demo included ---------------------------------------------------

def test_every_option_has_a_help_text() -> None:
    missing = [f"{name} {param.opts[0]}" for name, cmd in _commands(typer.main.get_command(APP))
               for param in cmd.params
               if param.param_type_name == "option" and param.name != "help" and not (param.help or "").strip()]
    assert missing == []  # the --seed of ten bench commands had none


# --- 7: a bad path argument is bad input (exit 2), named, with what was expected ----------------------------------

@pytest.fixture()
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("x", encoding="utf-8")
    Path("adir").mkdir()
    return tmp_path


@pytest.mark.parametrize(("args", "where", "words"), [
    (["ontology", "check", "nofile.yaml"], "FILE", "does not exist"),
    (["ontology", "check", "adir"], "FILE", "is a folder"),  # was exit 1 'Is a directory'
    (["ontology", "show", "-f", "adir"], "--file", "is a folder"),
    (["ontology", "show", "-f", "nofile.yaml"], "--file", "does not exist"),
    (["models", "register", "nofolder"], "BUNDLE", "does not exist"),  # was exit 3
    (["models", "register", "afile"], "BUNDLE", "is a file"),
    (["sensors", "fit-rul", "nofolder", "--out", "o"], "HISTORIES", "does not exist"),  # was exit 3
    (["sensors", "fit-rul", "afile", "--out", "o"], "HISTORIES", "is a file"),  # said 'no folder afile'
    (["sensors", "fit-rul", "adir", "--out", "o", "--end-rul", "nofile.csv"], "--end-rul", "does not exist"),
    (["sensors", "fit-rul", "adir", "--out", "o", "--end-rul", "adir"], "--end-rul", "is a folder"),
])
@pytest.mark.usefixtures("paths")
def test_a_bad_path_argument_is_exit_2_naming_it(args: list[str], where: str, words: str) -> None:
    res = invoke(*args, "-w", "nowhere") if args[0] == "models" else invoke(*args)
    assert code_of(res) == 2, (res.exception, res.output)
    assert isinstance(res.exception, ValidationError) and res.exception.where == where, res.exception
    assert words in str(res.exception), str(res.exception)


def test_ingest_missing_file_stays_exit_2(ws: Path) -> None:
    res = invoke("ingest", "manifest", "nofile.csv", "-w", str(ws))
    assert code_of(res) == 2, (res.exception, res.output)
