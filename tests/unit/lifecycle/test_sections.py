"""The config's policy sections are checked by `config check` before the command that reads them runs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.config import WorkspaceConfig
from assetgrade.lifecycle.sections import check_sections

runner = CliRunner()


def _check(**sections: object) -> list[str]:
    return check_sections(WorkspaceConfig.model_validate(sections))


def test_valid_sections_and_absent_ones_pass() -> None:
    assert _check() == []
    assert _check(
        drift={"alpha": 0.01, "window": 4},
        lifecycle={"promotion": {"tolerance": {"accuracy": 0.02}, "min_subgroup_n": 10},
                   "retrain": {"min_new_labels": 20}, "subgroups": ["asset_type", "site"]},
        audit={"checks": ["imbalance", "duplicates"], "settings": {"imbalance": {}}},
        documentation={"intended_use": "Pumps at depot A.", "limitations": ["Camera B differs."], "owner": None},
    ) == []


def test_each_section_names_the_bad_key() -> None:
    (typo,) = _check(drift={"alhpa": 0.05})
    assert typo.startswith("assetgrade.yaml:drift.alhpa: unknown key; known: ['alpha', ")
    (low,) = _check(drift={"alpha": 0.01, "n_permutations": 50})  # the policy's own cross-field rule
    assert low.startswith("assetgrade.yaml:drift: Value error, n_permutations=50 cannot reach p < alpha=0.01")
    assert _check(lifecycle={"retrain": {"min_new_labels": 0}, "promote": {}, "subgroups": "asset_type"}) == [
        "assetgrade.yaml:lifecycle.promote: unknown key; known: ['promotion', 'retrain', 'subgroups']",
        "assetgrade.yaml:lifecycle.retrain.min_new_labels: Input should be greater than or equal to 1 (got 0)",
        "assetgrade.yaml:lifecycle.subgroups: must be a list of record fields (asset_type, modalities or an "
        "attribute name), got 'asset_type'",
    ]
    (tol,) = _check(lifecycle={"promotion": {"tolerance": {"accuracy": "one point"}}})
    assert tol.startswith("assetgrade.yaml:lifecycle.promotion.tolerance.accuracy: Input should be a valid number")
    audit = _check(audit={"checks": ["imbalance", "dupes"], "settings": {"imbalance": {"bogus": 1}, "x": {}}})
    assert audit[0].startswith("assetgrade.yaml:audit.checks: unknown check 'dupes'; known: [")
    assert audit[1] == "assetgrade.yaml:audit.settings.imbalance.bogus: unknown key; known: ['min_ratio', 'real_only']"
    assert audit[2].startswith("assetgrade.yaml:audit.settings.x: unknown check; known: [")
    assert _check(documentation={"limitations": "one long text", "contatc": "a@b"}) == [
        "assetgrade.yaml:documentation.contatc: unknown key; known: ['intended_use', 'out_of_scope', "
        "'limitations', 'motivation', 'owner', 'contact']",
        "assetgrade.yaml:documentation.limitations: must be a list of texts, got 'one long text'",
    ]
    assert _check(drift=[1, 2]) == ["assetgrade.yaml:drift: must be a mapping of settings (a section), got list"]
    assert _check(policy={"coverage": 0.8, "coverag": 0.8}) == [
        "assetgrade.yaml:policy.coverag: unknown key; known: ['coverage', 'review_if_set_size_over', "
        "'max_expected_cost']"]


def test_cli_config_check_and_set_read_the_sections(tmp_path: Path) -> None:
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["config", "set", "lifecycle.retrain.min_new_labels", "0", "-w", str(ws)])
    assert r.exit_code != 0 and "not written" in str(r.exception)
    assert "lifecycle.retrain.min_new_labels: Input should be greater than or equal to 1" in str(r.exception)
    assert "lifecycle" not in (ws / "assetgrade.yaml").read_text()  # refused before writing
    assert runner.invoke(app, ["config", "set", "lifecycle.retrain.min_new_labels", "5", "-w", str(ws)]).exit_code == 0
    cfg = ws / "assetgrade.yaml"
    cfg.write_text(cfg.read_text() + "audit:\n  checks: [imbalanse]\n")
    r = runner.invoke(app, ["config", "check", "-w", str(ws)])
    assert r.exit_code == 2 and "unknown check 'imbalanse'" in r.output


def test_commands_reading_a_bad_section_name_the_key(tmp_path: Path) -> None:
    from assetgrade.cli.app import exit_code_for
    from assetgrade.errors import ValidationError
    from assetgrade.lifecycle.sections import drift_policy, retrain_policy

    config = WorkspaceConfig.model_validate({"drift": {"window": 0}, "lifecycle": {"retrain": {"alpha": 2}}})
    for read in (drift_policy, retrain_policy):
        try:
            read(config)
        except ValidationError as exc:
            assert "Input should be" in str(exc) and exit_code_for(exc) == 2
        else:
            raise AssertionError(f"{read.__name__} accepted a bad section")
    assert drift_policy(WorkspaceConfig()).alpha == 0.01 and retrain_policy(WorkspaceConfig()).min_new_labels == 50
    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    cfg = ws / "assetgrade.yaml"
    cfg.write_text(cfg.read_text() + "drift:\n  windw: 3\n")
    for command in (["audit", "drift"], ["models", "triggers"]):
        r = runner.invoke(app, [*command, "-w", str(ws)])
        assert isinstance(r.exception, ValidationError), command
        assert "assetgrade.yaml:line 15:column 3:drift.windw: unknown key" in str(r.exception)  # where it is


def test_the_promotion_policy_names_every_bad_key(tmp_path: Path) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.workspace import Workspace

    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    cfg = ws_path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text() + "lifecycle:\n  promotion: {min_subgroup_n: 0, tolrance: {accuracy: 0.1}}\n")
    with Workspace.open(ws_path) as ws:
        try:
            ModelRegistry(ws).policy()
        except ValidationError as exc:
            message = str(exc)
        else:
            raise AssertionError("a bad promotion policy was accepted")
    assert "lifecycle.promotion.tolrance: unknown key" in message
    assert "lifecycle.promotion.min_subgroup_n: Input should be greater than or equal to 1" in message
