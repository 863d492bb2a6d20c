"""Likely mistakes a valid ontology can still hold: rubric rules that never decide a finding (first match
wins), and abbreviation expansions that misspell a term; ``ontology check`` lists them, ``--strict`` fails."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from tests.ontology_texts import MINIMAL
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ontology import OntologyWarning, default_ontology, loads_ontology, ontology_warnings, singular_forms

SCRATCH = "    kind: cosmetic\n"
LAST_RULE = "    - {kind: cosmetic, grade: B}\n"


def _warnings(text: str) -> list[str]:
    return [str(w) for w in ontology_warnings(loads_ontology(text))]


def test_the_shipped_ontology_and_the_minimal_one_have_no_warnings() -> None:
    assert ontology_warnings(default_ontology()) == []
    assert ontology_warnings(loads_ontology(MINIMAL)) == []


@pytest.mark.parametrize(("text", "expected"), [
    # shadowed: every cosmetic finding is decided by rules[1] (B), so the severe-scratch rule never gives C
    (MINIMAL.replace(LAST_RULE, LAST_RULE + "    - {defect: scratch, severity: severe, grade: C}\n"),
     ["rubric.rules[2] {defect: scratch, severity: [severe], grade: C}: never decides a finding: each finding "
      "it matches is decided first by rubric.rules[1] (grade B, not C); move it above that rule"]),
    # the same rule twice: redundant, and said so
    (MINIMAL.replace(LAST_RULE, LAST_RULE + "    - {defect: crack.fatigue, grade: C}\n"),
     ["rubric.rules[2] {defect: crack.fatigue, grade: C}: never decides a finding: each finding it matches is "
      "decided first by rubric.rules[0] (grade C); it is redundant"]),
    # shadowed by several earlier rules together, none of which covers it alone
    (MINIMAL.replace("    - {defect: crack, grade: C}\n",
                     "    - {defect: crack, severity: [minor, moderate], grade: C}\n"
                     "    - {kind: functional, severity: severe, grade: C}\n"
                     "    - {defect: crack.fatigue, grade: B}\n"),
     ["rubric.rules[2] {defect: crack.fatigue, grade: B}: never decides a finding: each finding it matches is "
      "decided first by rubric.rules[0] (grade C, not B), rubric.rules[1] (grade C, not B); move it above them"]),
    # a kind the named defect and the defects below it never have
    (MINIMAL.replace("  rules:\n", "  rules:\n    - {defect: crack, kind: cosmetic, grade: B}\n"),
     ["rubric.rules[0] {defect: crack, kind: cosmetic, grade: B}: never matches: 'crack' and the defects below "
      "it are all functional"]),
    (MINIMAL.replace("  rules:\n", "  rules:\n    - {defect: scratch, kind: functional, grade: C}\n"),
     ["rubric.rules[0] {defect: scratch, kind: functional, grade: C}: never matches: 'scratch' is cosmetic"]),
    # a kind no defect has at all
    (MINIMAL.replace("kind: functional", "kind: cosmetic").replace(
        "    - {defect: crack, grade: C}\n", "    - {kind: functional, grade: C}\n"),
     ["rubric.rules[0] {kind: functional, grade: C}: never matches: no defect is functional"]),
    # a severity the ontology knows (crack has it) but the named defect cannot have
    (MINIMAL.replace(SCRATCH, SCRATCH + "    severities: [light, heavy]\n").replace(
        "  rules:\n", "  rules:\n    - {defect: scratch, severity: severe, grade: C}\n"),
     ["rubric.rules[0] {defect: scratch, severity: [severe], grade: C}: never matches: the defects it covers "
      "have the severities ['light', 'heavy'], not ['severe']"]),
    # one severity of several never applies; the rule still decides the others
    (MINIMAL.replace(SCRATCH, SCRATCH + "    severities: [light, heavy]\n").replace(
        "  rules:\n", "  rules:\n    - {defect: scratch, severity: [heavy, severe], grade: C}\n"),
     ["rubric.rules[0] {defect: scratch, severity: [heavy, severe], grade: C}: severity 'severe' never "
      "applies: the defects it covers have the severities ['light', 'heavy']"]),
])
def test_rules_that_never_decide_a_finding_are_named_with_the_reason(text: str, expected: list[str]) -> None:
    assert _warnings(text) == expected


def test_specific_rules_before_general_ones_are_not_flagged() -> None:
    # the child's rule first, then the parent's: the parent's still decides crack itself
    text = MINIMAL.replace("    - {defect: crack, grade: C}\n",
                           "    - {defect: crack.fatigue, severity: severe, grade: C}\n"
                           "    - {defect: crack, grade: B}\n")
    assert _warnings(text) == []
    assert loads_ontology(text).grade_for([("crack.fatigue", "severe"), ("crack", "minor")]) == "C"


@pytest.mark.parametrize(("abbreviations", "expected"), [
    # a misspelt term: the nearest one is suggested
    ("  brg: baering\n", ["abbreviations['brg']: 'baering' names no term ('baering' is in no defect or "
                         "component name or synonym); did you mean 'bearing'?"]),
    ("  hfc: hairline crak\n", ["abbreviations['hfc']: 'hairline crak' names no term ('crak' is in no defect or "
                                "component name or synonym); did you mean 'hairline crack'?"]),
    # as the linker reads text: NFKC, case, separators and plurals
    ("  brgs: BEARINGS\n  crk: \"\uff43\uff52\uff41\uff43\uff4b\"\n  crkd: Crack-ed\n", []),
    # words of a longer term (the linker joins the expanded words: 'hairline' + the next token)
    ("  hl: hairline\n", []),
    # an inflection of a term is not a misspelling, and ordinary words far from every term are left alone
    ("  ftgd: fatigued\n  crkg: cracking\n  lh: left hand\n  insp: inspect\n", []),
])
def test_abbreviations_that_misspell_a_term_are_flagged(abbreviations: str, expected: list[str]) -> None:
    text = MINIMAL.replace("    synonyms: [cracked]\n", "    synonyms: [cracked, hairline crack]\n").replace(
        "  REPL: replace\n", "  REPL: replace\n" + abbreviations)
    assert _warnings(text) == expected


def test_plural_forms_are_the_linkers() -> None:
    from assetgrade.modalities.text import linking, summary
    from assetgrade.ontology import lint

    # one rule: the check reads a plural as the linker and the summariser do
    assert lint.singular_forms is linking.singular_forms is summary.singular_forms is singular_forms
    words = ["cracks", "bushes", "batteries", "glass", "hoses", "gearboxes", "valves", "bus", "ies", "is"]
    assert [singular_forms(w) for w in words] == [
        ("crack",), ("bush", "bushe"), ("battery",), (), ("hose",), ("gearbox", "gearboxe"), ("valv", "valve"),
        (), (), ()]


def test_a_warning_reads_where_then_what() -> None:
    assert str(OntologyWarning("rubric.rules[1]", "never matches")) == "rubric.rules[1]: never matches"


def test_cli_check_lists_warnings_and_strict_fails_on_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative file names: the output holds no 'warning' from the folder's name
    app, runner = build_app(), CliRunner()
    clean = Path("clean.yaml")
    clean.write_text(MINIMAL, encoding="utf-8")
    shipped = Path(str(resources.files("assetgrade.ontology") / "default.yaml"))
    for path in (clean, shipped):
        ok = runner.invoke(app, ["ontology", "check", "--strict", str(path)])
        assert ok.exit_code == 0, ok.output
        assert "warning" not in ok.output
    bad = Path("bad.yaml")
    bad.write_text(MINIMAL.replace(LAST_RULE, LAST_RULE + "    - {defect: scratch, grade: C}\n").replace(
        "REPL: replace", "REPL: replace\n  brg: baering"), encoding="utf-8")
    lenient = runner.invoke(app, ["ontology", "check", str(bad)])
    assert lenient.exit_code == 0, lenient.output
    out = " ".join(lenient.output.split())  # rich wraps long lines
    assert "2 warnings" in out
    assert "rubric.rules[2] {defect: scratch, grade: C}: never decides a finding" in out
    assert "did you mean 'bearing'?" in out
    strict = runner.invoke(app, ["ontology", "check", "--strict", str(bad)])
    assert strict.exit_code == 1, strict.output
    assert "rubric.rules[2]" in " ".join(strict.output.split())
