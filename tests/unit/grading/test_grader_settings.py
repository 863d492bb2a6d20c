"""The grader's settings checked without training, and `assetgrade config` editing them safely."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.config import WorkspaceConfig, load_config
from assetgrade.errors import AssetgradeError
from assetgrade.grader_settings import check_config, check_grader_settings, grader_from_settings

runner = CliRunner()


def _code(r: Result) -> int:
    """The exit code `assetgrade` gives (the runner lets our errors through; main() maps them)."""
    return exit_code_for(r.exception) if isinstance(r.exception, AssetgradeError) else r.exit_code


def test_grader_settings_problems_are_found_before_training(tmp_path: Path) -> None:
    assert check_grader_settings({"folds": 3, "fuser": {"model": "latent"},
                                  "extractor_settings": {"vision": {"coreset_size": 300}}}) == []
    assert "unexpected keyword argument 'fols'" in check_grader_settings({"fols": 3})[0]
    assert "model='bogus'" in check_grader_settings({"fuser": {"model": "bogus"}})[0]
    (bad,) = check_grader_settings({"extractor_settings": {"vision": {"coresetsize": 3}}})
    assert bad.startswith("assetgrade.yaml:grader.extractor_settings.vision:") and "coresetsize" in bad
    (unused,) = check_grader_settings({"extractors": ["text"], "extractor_settings": {"vision": {}}})
    assert "no extractor 'vision' is used" in unused
    (missing,) = check_grader_settings({"extractor_settings": {"sensors": {"rul_model": "models/rul"}}}, tmp_path)
    assert "assetgrade sensors fit-rul" in missing
    # CLI options (not None) go on top of the section
    g = grader_from_settings({"folds": 3, "seed": 1}, seed=None, folds=4)
    assert (g.folds, g.seed) == (4, 1)


def test_config_check_covers_ontology_and_costs(tmp_path: Path) -> None:
    assert check_config(WorkspaceConfig(), tmp_path) == []
    two = {"grades": ["A", "B"], "price": {"A": 1.0, "B": 0.5}}
    cfg = WorkspaceConfig.model_validate({"ontology": "mine.yaml", "costs": two})
    (onto,) = check_config(cfg, tmp_path)  # the cost grades cannot be compared without an ontology
    assert onto.startswith("ontology:") and "mine.yaml" in onto
    (costs,) = check_config(WorkspaceConfig.model_validate({"costs": two}), tmp_path)
    assert costs.startswith("assetgrade.yaml:costs") and "differ from the ontology's grades" in costs


def test_cli_config_set_validates_before_writing(tmp_path: Path) -> None:
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    w = ["-w", str(ws)]
    r = runner.invoke(app, ["config", "set", "grader.fuser", "{model: logistic}", *w])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["config", "set", "grader.extractor_settings.vision.coreset_size", "300", *w])
    assert r.exit_code == 0, r.output
    assert load_config(ws / "assetgrade.yaml").section("grader") == {
        "fuser": {"model": "logistic"}, "extractor_settings": {"vision": {"coreset_size": 300}}}
    r = runner.invoke(app, ["config", "get", "grader.fuser.model", *w])
    assert r.exit_code == 0 and r.output.strip() == "logistic"
    before = (ws / "assetgrade.yaml").read_text()
    for bad in (["grader.fols", "3"], ["grader.fuser.model", "bogus"], ["policy.coverage", "1.5"],
                ["grader.seed", "[unclosed"]):
        r = runner.invoke(app, ["config", "set", *bad, *w])
        assert _code(r) == 2, (bad, r.output)
    assert (ws / "assetgrade.yaml").read_text() == before  # nothing written
    r = runner.invoke(app, ["config", "set", "team.owner", "007", "--string", *w])
    assert r.exit_code == 0 and load_config(ws / "assetgrade.yaml").section("team") == {"owner": "007"}
    r = runner.invoke(app, ["config", "unset", "grader.fuser", *w])
    assert r.exit_code == 0 and "fuser" not in load_config(ws / "assetgrade.yaml").section("grader")
    assert _code(runner.invoke(app, ["config", "get", "grader.fuser", *w])) == 3
    assert runner.invoke(app, ["config", "check", *w]).exit_code == 0
    assert _code(runner.invoke(app, ["config", "show", "-w", str(tmp_path / "nowhere")])) == 3


def test_cli_config_check_fails_on_a_problem_a_hand_edit_made(tmp_path: Path) -> None:
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    cfg = ws / "assetgrade.yaml"
    cfg.write_text(cfg.read_text() + "grader:\n  extractor_settings: {text: {embeder: minilm}}\n")
    r = runner.invoke(app, ["config", "check", "-w", str(ws)])
    assert r.exit_code == 2 and "embeder" in r.output
    # a change that does not fix the old problem is still written: it adds none
    r = runner.invoke(app, ["config", "set", "policy.coverage", "0.8", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    cfg.write_text(cfg.read_text() + "policy: {coverage: 0.7}\n")
    r = runner.invoke(app, ["config", "check", "-w", str(ws)])
    assert _code(r) == 2 and "'policy' is given twice" in str(r.exception)


def test_cli_config_set_and_unset_keep_the_file_as_written(tmp_path: Path) -> None:
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    cfg = ws / "assetgrade.yaml"
    cfg.write_text("# line 3 settings, owner: maintenance planning\n"
                   "policy:\n"
                   "  coverage: 0.9   # agreed with finance, March\n"
                   "costs:\n"
                   "  price: {A: 1.0, B: 0.8, C: 0.55, D: 0.3}  # per cent of new\n")
    w = ["-w", str(ws)]
    r = runner.invoke(app, ["config", "set", "policy.coverage", "0.95", *w])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["config", "set", "grader.fuser.model", "latent", *w])
    assert r.exit_code == 0, r.output
    text = cfg.read_text()
    assert text.startswith("# line 3 settings, owner: maintenance planning\n")
    assert "coverage: 0.95  # agreed with finance, March" in text
    assert "price: {A: 1.0, B: 0.8, C: 0.55, D: 0.3}  # per cent of new" in text  # untouched, flow style kept
    assert "store_url" not in text  # defaults are not written out
    assert load_config(cfg).section("grader") == {"fuser": {"model": "latent"}}
    # unset removes the key and the mappings it leaves empty, and nothing else
    r = runner.invoke(app, ["config", "unset", "grader.fuser.model", *w])
    assert r.exit_code == 0, r.output
    assert "grader" not in cfg.read_text() and "# per cent of new" in cfg.read_text()
    # a built-in setting that is not in the file: nothing to remove, nothing written
    before = cfg.read_text()
    r = runner.invoke(app, ["config", "unset", "ingest_group_size", *w])
    assert r.exit_code == 0 and "nothing written" in r.output and cfg.read_text() == before
    assert _code(runner.invoke(app, ["config", "unset", "no.such.key", *w])) == 3
    r = runner.invoke(app, ["config", "set", "policy.coverage.low", "0.5", *w])
    assert _code(r) == 2 and "policy.coverage holds 0.95, not a mapping" in str(r.exception)
    assert cfg.read_text() == before


def test_config_text_edits_on_an_empty_or_comment_only_file() -> None:
    from assetgrade.config import parse_config, set_in_text, unset_in_text

    out = set_in_text("# nothing set yet", "policy.coverage", 0.8)
    assert out.startswith("# nothing set yet\n") and parse_config(out, "t").policy.coverage == 0.8
    assert unset_in_text("# nothing set yet\n", "policy.coverage") is None
    assert set_in_text("store_url: null\npolicy: {coverage: 0.9}\n", "policy.coverage", None) == (
        "store_url: null\npolicy: {coverage: null}\n")  # null stays null, not an empty value
    assert unset_in_text("policy:\n  coverage: 0.8\n", "policy.coverage") == ""
    assert unset_in_text("# ours\n\npolicy:\n  coverage: 0.8  # was 0.9\n", "policy.coverage") == "# ours\n"
