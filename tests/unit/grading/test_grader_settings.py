"""The grader's settings checked without training, and `assetgrade config` editing them safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.config import WorkspaceConfig, load_config
from assetgrade.config_check import check_config
from assetgrade.errors import AssetgradeError
from assetgrade.grader_factory import check_grader_settings, grader_from_settings
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry
from assetgrade.training_check import check_training_data

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
    assert onto.startswith("assetgrade.yaml:ontology: ") and "mine.yaml" in onto
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


def _rec(aid: str, grade: str | None, *, asset_type: str = "pump", images: int = 0, log: bool = False) -> AssetRecord:
    imgs = tuple(ImageRef(f"{aid}/img{i}", f"{aid}{i}", load_bytes=bytes) for i in range(images))
    logs = (LogEntry(f"{aid}/log", "slow oil leak at the seal"),) if log else ()
    return AssetRecord(aid, asset_type, images=imgs, logs=logs, grade=grade)


def test_data_check_names_what_would_stop_train() -> None:
    grades = ["A", "B", "C", "D"]
    recs = [_rec(f"p{i}", "AB"[i % 2], log=True) for i in range(4)] + [_rec("q1", "E"), _rec("q2", "b"),
                                                                      _rec("q3", "E"), _rec("u", None)]
    check = check_training_data(recs, {"extractors": ["text"], "folds": 5}, grades)
    off, few = check.problems
    assert off.startswith("labels: 3 labelled assets have grades not on the scale") and "'E' (q1, q3)" in off
    assert "'b' (q2)" in off  # grades are not case-folded: train refuses them too
    assert "4 labelled asset(s) with 2 grade(s)" in few and "assetgrade.yaml:grader.folds" in few
    assert check.n_assets == 8 and check.grade_counts == {"A": 2, "B": 2, "C": 0, "D": 0}
    assert check_training_data(recs, {"extractors": ["text"], "folds": 2}, grades).problems == (off,)
    # no named extractor has labelled evidence: train would stop
    nothing = check_training_data([_rec(f"p{i}", "AB"[i % 2]) for i in range(6)],
                                  {"extractors": ["vision", "sensors"], "folds": 3}, grades)
    assert nothing.problems == ("assetgrade.yaml:grader: no extractor has labelled evidence (vision: none, "
                                "sensors: none), so train would stop",)
    assert nothing.modality_counts == {"vision": 0, "sensors": 0}


def test_data_check_warns_of_what_train_would_learn_less_from() -> None:
    grades = ["A", "B", "C", "D"]
    recs = ([_rec(f"p{i}", "ABC"[i % 3], log=True, images=1 if i % 3 == 1 else 0) for i in range(12)]
            + [_rec("d0", "D", log=True, asset_type="fan"), _rec("a9", "A", images=2)])
    settings = {"extractors": ["vision", "text"], "folds": 3}
    check = check_training_data(recs, settings, grades)
    assert check.problems == ()
    assert check.warnings == (
        "labels: fewer labelled assets than the 3 folds for grade(s) D (1): some folds hold none, so their "
        "out-of-fold figures are rough",
        "vision: 2 labelled image(s) of the best grade 'A', fewer than 4: no anomaly heat maps are learned",
        "conformal: asset type(s) with fewer than 30 labelled assets use the pooled threshold, not their own: "
        "fan (1), pump (13)",
    )
    assert check.modality_counts == {"vision": 5, "text": 13}
    assert check.summary() == "14 assets, 14 labelled (A 5, B 4, C 4, D 1); labelled with evidence: vision 5, text 13"
    # without a9 the photographed assets are all grade B, and without the fan no grade D and one asset type
    check = check_training_data(recs[:12], {**settings, "mondrian": True}, grades)
    assert check.warnings == (
        "labels: no labelled asset has grade(s) ['D']: the grader learns nothing about them and will rarely choose "
        "them",
        "vision: its 4 labelled asset(s) all have grade 'B', so train leaves it out",
        "vision: 0 labelled image(s) of the best grade 'A', fewer than 4: no anomaly heat maps are learned",
    )
    assert check_training_data(recs, {**settings, "mondrian": False}, grades).warnings[-1].startswith("vision:")


def test_data_check_reads_plug_in_extractors_by_the_modality_their_class_names(monkeypatch) -> None:
    from assetgrade.modalities import base

    class Thermal:  # a plug-in reading photos
        modality = "vision"

    class Untold:  # says its modality only once built
        def __init__(self) -> None:
            self.modality = "text"

        def fit(self, records, grades=None):
            return self

        def extract(self, records):
            raise NotImplementedError

    monkeypatch.setitem(base._REGISTRY, "thermal", Thermal)
    monkeypatch.setitem(base._REGISTRY, "untold", Untold)
    grades = ["A", "B"]
    recs = [_rec(f"p{i}", "AB"[i % 2], images=1 if i < 4 else 0, log=True) for i in range(6)]
    check = check_training_data(recs, {"extractors": ["thermal", "text"], "folds": 3}, grades)
    assert check.modality_counts == {"thermal": 4, "text": 6}
    assert not [w for w in check.warnings if w.startswith("thermal")]  # the vision-only photo rule is not applied
    # a plug-in without labelled evidence is left out, as a built-in would be
    nothing = check_training_data([_rec(f"q{i}", "AB"[i % 2], log=True) for i in range(6)],
                                  {"extractors": ["thermal"], "folds": 3}, grades)
    assert nothing.problems == ("assetgrade.yaml:grader: no extractor has labelled evidence (thermal: none), "
                                "so train would stop",)
    assert nothing.warnings == ("thermal: none of the 6 labelled assets has vision evidence, so train leaves it out",)
    one = check_training_data([_rec(f"q{i}", "B", images=1) for i in range(3)] + [_rec("a", "A")],
                              {"extractors": ["thermal"], "folds": 3}, grades)
    assert "thermal: its 3 labelled asset(s) all have grade 'B', so it has one grade to learn from" in one.warnings
    # a class that does not say: a warning, and no claim that train would stop
    untold = check_training_data(recs, {"extractors": ["untold", "sensors"], "folds": 3}, grades)
    assert untold.problems == ()
    assert untold.warnings[0] == ("untold: a plug-in extractor whose class does not say which evidence it reads "
                                  "(no class attribute `modality`), so its data is not checked")
    assert untold.modality_counts == {"sensors": 0}
    gone = check_training_data(recs, {"extractors": ["thermal-unregistered", "text"], "folds": 3}, grades)
    assert gone.warnings[0].startswith("thermal-unregistered: not a registered extractor in this process")
    # an extractor instance in the Python API is read by its own attribute
    given = check_training_data(recs, {"extractors": [Untold()], "folds": 3}, grades)
    assert given.modality_counts == {"Untold (text)": 6} and given.problems == ()


def test_a_malformed_extractor_list_is_named_before_training() -> None:
    (text,) = check_grader_settings({"extractors": "vision"})  # not read as ['v', 'i', 's', ...]
    assert text == ("assetgrade.yaml:grader.extractors: a list of extractor names is needed, not the string 'vision' "
                    "(write [vision])")
    assert check_grader_settings({"extractors": []}) == [
        "assetgrade.yaml:grader.extractors: no extractor named: the grader needs at least one"]
    (item,) = check_grader_settings({"extractors": ["vision", 3]})
    assert item.startswith("assetgrade.yaml:grader.extractors: item 1 (3) is neither an extractor name nor an "
                           "Extractor")
    (typo,) = check_grader_settings({"extractors": ["visoin"]})
    assert typo == "assetgrade.yaml:grader.extractors: unknown extractor 'visoin'; known: ['sensors', 'text', 'vision']"


def test_grader_settings_of_the_wrong_kind_are_named_before_training() -> None:
    import numpy as np

    from assetgrade.grader import Grader

    wrong = {
        "folds": ("5", "assetgrade.yaml:grader.folds: folds='5' must be a whole number >= 2"),
        "seed": (-1, "assetgrade.yaml:grader.seed: seed=-1 must be a whole number >= 0"),
        "min_group_size": (2.5, "assetgrade.yaml:grader.min_group_size: min_group_size=2.5 must be a whole "
                                "number >= 1"),
        "coverage": ("0.9", "assetgrade.yaml:grader.coverage: coverage='0.9' must be a number in (0, 1)"),
        "max_error": (2, "assetgrade.yaml:grader.max_error: max_error=2 must be a number in (0, 1)"),
        "delta": (0, "assetgrade.yaml:grader.delta: delta=0 must be a number in (0, 1)"),
        "mondrian": ("on", "assetgrade.yaml:grader.mondrian: mondrian='on' must be true or false"),
        "review_on_quality": (1, "assetgrade.yaml:grader.review_on_quality: review_on_quality=1 must be true or false"),
    }
    for key, (value, message) in wrong.items():
        assert check_grader_settings({key: value}) == [message], key
    # a seed above 2**32-1 passed config check, then train failed in scikit-learn (KMeans, PCA) or the fuser
    assert check_grader_settings({"seed": 2**32}) == [
        "assetgrade.yaml:grader.seed: seed=4294967296 must be a whole number in [0, 4294967295]"]
    (fuser,) = check_grader_settings({"fuser": "latent"})
    assert fuser.startswith("assetgrade.yaml:grader.fuser: fuser='latent' must be the fusion model's settings")
    (per,) = check_grader_settings({"extractor_settings": {"vision": 3}})
    assert per.startswith("assetgrade.yaml:grader.extractor_settings: extractor_settings={'vision': 3} must map "
                          "each extractor")
    # numpy scalars are numbers (benchmarks pass them)
    g = Grader(folds=np.int64(3), seed=np.int64(2), coverage=np.float64(0.8), mondrian=np.bool_(False))
    assert (g.folds, g.seed, g.coverage, g.mondrian) == (3, 2, 0.8, False) and type(g.folds) is int


def test_two_extractors_of_one_modality_are_refused_before_anything_is_fitted(monkeypatch) -> None:
    import pytest

    from assetgrade.errors import ValidationError
    from assetgrade.grader import Grader
    from assetgrade.modalities import base

    class Notes:  # a second reader of the logs
        modality = "text"

        def fit(self, records, grades=None):
            raise AssertionError("fitted although the grader was refused")

        def extract(self, records):
            raise AssertionError("extracted although the grader was refused")

    monkeypatch.setitem(base._REGISTRY, "notes", Notes)
    (twice,) = check_grader_settings({"extractors": ["text", "notes"]})
    assert twice == ("assetgrade.yaml:grader.extractors: ['text', 'notes'] all read text; the grader keeps one "
                     "extractor per modality")
    recs = [_rec(f"p{i}", "AB"[i % 2], log=True) for i in range(6)]
    with pytest.raises(ValidationError, match=r"more than one extractor reads text \(extractors: \['notes', 'Notes'\]"):
        Grader(extractors=("notes", Notes()), folds=3).fit(recs)


def test_cli_config_check_data_reads_the_store(tmp_path: Path) -> None:
    import hashlib

    from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
    from assetgrade.workspace import Workspace

    app = build_app()
    ws_path = tmp_path / "ws"
    with Workspace.init(ws_path) as ws, ws.session() as s:
        for i in range(6):
            aid = f"pump-{i}"
            add_asset(s, aid, asset_type="pump")
            text = f"inspection {i}: slow oil leak"
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
            add_label(s, asset_id=aid, kind="grade", value="AB"[i % 2], annotator="expert")
    w = ["-w", str(ws_path)]
    assert runner.invoke(app, ["config", "set", "grader.extractors", "[text]", *w]).exit_code == 0
    r = runner.invoke(app, ["config", "check", "--data", *w])
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output  # six assets in two grades: enough for 5 folds, with warnings
    assert "! labels: fewer labelled assets than the 5 folds for grade(s) A (3), B (3)" in out
    assert "! labels: no labelled asset has grade(s) ['C', 'D']" in out
    assert "6 assets, 6 labelled (A 3, B 3, C 0, D 0); labelled with evidence: text 6" in out
    assert "the data can be trained on (2 warning(s))" in out
    assert runner.invoke(app, ["config", "set", "grader.folds", "7", *w]).exit_code == 0
    r = runner.invoke(app, ["config", "check", "--data", *w])
    assert _code(r) == 2 and "train needs at least 7" in " ".join(r.output.split())
    assert runner.invoke(app, ["config", "check", *w]).exit_code == 0  # the settings alone are fine


def test_the_policy_section_sets_the_graders_decision_settings(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.cli.grading import _make_grader
    from assetgrade.cli.workspace import open_workspace
    from assetgrade.grader_settings import workspace_grader_settings

    app = build_app()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    for key, value in (("policy.coverage", "0.8"), ("policy.review_if_set_size_over", "2"),
                       ("policy.max_expected_cost", "150")):
        assert runner.invoke(app, ["config", "set", key, value, "-w", str(ws)]).exit_code == 0
    g = grader_from_settings(workspace_grader_settings(load_config(ws / "assetgrade.yaml")))
    assert (g.coverage, g.max_set_size, g.max_expected_cost) == (0.8, 2, 150.0)
    # the grader section and CLI options win over the policy section, and config set/check say so
    assert runner.invoke(app, ["config", "check", "-w", str(ws)]).output.count("overrides") == 0
    r = runner.invoke(app, ["config", "set", "grader.coverage", "0.85", "-w", str(ws)])
    assert r.exit_code == 0 and "! grader.coverage = 0.85 overrides policy.coverage = 0.8" in r.output
    r = runner.invoke(app, ["config", "check", "-w", str(ws)])
    assert r.exit_code == 0 and "! grader.coverage = 0.85 overrides policy.coverage = 0.8" in r.output
    capsys.readouterr()
    with open_workspace(ws, None) as opened:  # train and evaluate build their Grader here
        assert _make_grader(opened, None, None, None, None).coverage == 0.85
        assert "note: grader.coverage = 0.85 overrides policy.coverage = 0.8" in capsys.readouterr().out
        assert _make_grader(opened, None, None, 0.95, None).coverage == 0.95  # --coverage overrides both
        assert "overrides" not in capsys.readouterr().out
    settings = workspace_grader_settings(load_config(ws / "assetgrade.yaml"))
    assert grader_from_settings(settings).coverage == 0.85
    assert grader_from_settings(settings, coverage=0.95).coverage == 0.95
    r = runner.invoke(app, ["config", "show", "--grader", "--json", "-w", str(ws)])
    shown = {row["key"]: (row["value"], row["from"]) for row in json.loads(r.output)}
    assert shown["coverage"] == (0.85, "grader:") and shown["max_set_size"] == (2, "policy:review_if_set_size_over")
    assert shown["max_expected_cost"] == (150.0, "policy:max_expected_cost") and shown["folds"] == (5, "default")
    assert "ontology" not in shown and "costs" not in shown


def test_a_five_grade_ontology_trains_with_default_costs_for_its_own_grades(tmp_path: Path) -> None:
    from importlib import resources

    import yaml

    from assetgrade.ontology import load_ontology

    from .conftest import make_records, tiny_grader

    doc = yaml.safe_load(resources.files("assetgrade.ontology").joinpath("default.yaml").read_text(encoding="utf-8"))
    doc["grades"].append({"id": "E", "name": "Scrap", "description": "Scrap value only."})
    (tmp_path / "five.yaml").write_text(yaml.safe_dump(doc))
    ont = load_ontology(tmp_path / "five.yaml")
    grader = tiny_grader(extractors=("text",), ontology=ont).fit(make_records(16))
    assert grader.grades_ == ("A", "B", "C", "D", "E")
    assert grader.costs_.grades == grader.grades_ and grader.costs_.price["E"] == 0.25


def test_grader_yes_no_settings_in_the_file_take_the_words_yes_and_no_as_every_yes_no_setting_does() -> None:
    # the grader: section refused 'yes' where drift:, audit: and verify_blobs_on_read (config.YesNo) took it
    from assetgrade.grader_factory import grader_from_settings

    assert check_grader_settings({"mondrian": "yes", "review_outside_set": "No"}) == []
    g = grader_from_settings({"mondrian": "yes", "review_on_quality": "no",
                              "fuser": {"model": "latent", "monotone": "Yes"}})
    assert g.fuser is not None and (g.mondrian, g.review_on_quality, g.fuser.monotone) == (True, False, True)
    # what YesNo refuses stays refused, the fuser's flags included
    assert check_grader_settings({"review_on_quality": "true"}) == [
        "assetgrade.yaml:grader.review_on_quality: review_on_quality='true' must be true or false"]
    assert check_grader_settings({"fuser": {"model": "latent", "monotone": 1}}) == [
        "assetgrade.yaml:grader.fuser.monotone: monotone=1 must be true or false"]
