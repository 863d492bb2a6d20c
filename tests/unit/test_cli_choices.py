"""Options taking one of a fixed set of words are Click choices: listed in --help, a typo is exit 2 naming it.

The sets live in ``assetgrade.cli.choices`` (so ``assetgrade --help`` imports no store or NumPy); each must equal the
library constant it mirrors, which stays the one source of truth.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from assetgrade.cli import choices
from assetgrade.cli.app import build_app, main

APP = build_app()

MIRRORS = [
    ("ModelStatus", "assetgrade.store.lifecycle_schema", "MODEL_STATUSES"),
    ("LabelRequestStatus", "assetgrade.store.requests", "LABEL_REQUEST_STATUSES"),
    ("Role", "assetgrade.store.auth_schema", "ROLES"),
    ("Origin", "assetgrade.store.schema", "ORIGINS"),
    ("NumericTime", "assetgrade.ingest.series_options", "NUMERIC_TIME"),
    ("SynthMode", "assetgrade.bench.fidelity", "SYNTH_MODES"),
    ("Fuser", "assetgrade.fusion.combine", "MODELS"),
    ("LabelNoiseMethod", "assetgrade.bench.label_noise", "METHODS"),
    ("NeuClass", "assetgrade.datasets.neu", "NEU_CLASSES"),
    ("Backbone", "assetgrade.modalities.vision.backbone", "BACKBONES"),
    ("LogLevel", "uvicorn.config", "LOG_LEVELS"),
]


@pytest.mark.parametrize(("alias", "module", "constant"), MIRRORS, ids=[m[0] for m in MIRRORS])
def test_a_cli_choice_is_its_library_constant(alias: str, module: str, constant: str) -> None:
    library = getattr(importlib.import_module(module), constant)
    assert tuple(typing.get_args(getattr(choices, alias))) == tuple(library)


@pytest.mark.parametrize(("alias", "target", "parameter"), [
    ("VisionHead", "assetgrade.modalities.vision.extractor:VisionExtractor.__init__", "grade_head"),
    ("VisionQuality", "assetgrade.modalities.vision.extractor:VisionExtractor.__init__", "quality_factors"),
    ("FusionSource", "assetgrade.datasets.linked:build_linked", "source"),
])
def test_a_cli_choice_is_the_library_parameters_literal(alias: str, target: str, parameter: str) -> None:
    module, _, path = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    library = typing.get_args(typing.get_type_hints(obj)[parameter])
    assert set(typing.get_args(getattr(choices, alias))) == set(library)


def test_the_cli_starts_without_the_store_or_numpy() -> None:
    """Why the sets are mirrored, not imported: their modules cost a second or more on every call."""
    code = ("import sys; from assetgrade.cli.app import build_app; build_app(); "
            "print(sorted(m for m in ('sqlalchemy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# one option of each converted kind, with a value that is not one of its words
BAD = [
    (["models", "list", "--status", "bogus"], "--status"),
    (["review", "requests", "--status", "closed"], "--status"),
    (["tokens", "create", "--name", "n", "--role", "boss"], "--role"),
    (["serve", "--log-level", "loud"], "--log-level"),
    (["batch", "grade", "--backend", "dask"], "--backend"),
    (["ingest", "folder", ".", "--label-as", "defects"], "--label-as"),
    (["ingest", "folder", ".", "--origin", "fake"], "--origin"),
    (["ingest", "series", "x.csv", "--numeric-time", "unix"], "--numeric-time"),
    (["sensors", "fit-rul", ".", "--out", "o", "--numeric-time", "unix"], "--numeric-time"),
    (["bench", "text", "--task", "summarize"], "--task"),
    (["bench", "text", "--dataset", "wiki"], "--dataset"),
    (["bench", "text", "--embedder", "bert"], "--embedder"),
    (["bench", "text", "--eval-split", "dev"], "--eval-split"),
    (["bench", "fidelity", "--synth", "gan"], "--synth"),
    (["bench", "fusion", "--fuser", "tree"], "--fuser"),
    (["bench", "fusion", "--vision-mil", "yes"], "--vision-mil"),
    (["bench", "fusion", "--rul-fleet", "fd001"], "--rul-fleet"),
    (["bench", "fusion", "--source", "web"], "--source"),
    (["bench", "fusion", "--vision-head", "tree"], "--vision-head"),
    (["bench", "fusion", "--vision-quality", "soft"], "--vision-quality"),
    (["bench", "vision", "--dataset", "mnist"], "--dataset"),
    (["bench", "vision", "--backbone", "lite9"], "--backbone"),
    (["bench", "vision", "--head", "svm"], "--head"),
    (["bench", "anomaly", "--dataset", "elpv"], "--dataset"),
    (["bench", "anomaly", "--dataset", "neu", "--good-class", "rust"], "--good-class"),
    (["bench", "active", "--dataset", "mnist"], "--dataset"),
    (["bench", "label-noise", "--method", "vote"], "--method"),
    (["bench", "sensors", "--dataset", "phm08"], "--dataset"),
]


@pytest.mark.parametrize(("argv", "option"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_word_outside_the_set_is_exit_2_naming_the_option(
        argv: list[str], option: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["assetgrade", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    err = " ".join(capsys.readouterr().err.split())
    assert done.value.code == 2, err
    assert f"Invalid value for '{option}'" in err and "Traceback" not in err


def _command(*path: str) -> Any:
    cmd: Any = typer.main.get_command(APP)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def test_help_lists_the_words() -> None:
    out = CliRunner().invoke(APP, ["models", "list", "--help"], env={"COLUMNS": "200"}).output
    assert "candidate|champion|retired" in out


def test_log_level_takes_any_case_and_passes_uvicorn_the_lower_case_name() -> None:
    ctx = _command("serve").make_context("serve", ["--log-level", "DEBUG"])
    assert ctx.params["log_level"] == "debug"


def test_sensors_dataset_takes_any_case_as_the_benchmark_does() -> None:
    ctx = _command("bench", "sensors").make_context("sensors", ["--dataset", "CMAPSS"])
    assert ctx.params["dataset"] == "cmapss"
