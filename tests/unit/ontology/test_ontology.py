"""Tests of the ontology loader: validation messages name key and line; rubric; lookups; versioning."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from tests.ontology_texts import MINIMAL
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.errors import OntologyError
from assetgrade.ontology import default_ontology, load_ontology, loads_ontology


def test_default_ontology_loads_with_expected_structure() -> None:
    ont = default_ontology()
    assert ont.grades.names == ("A", "B", "C", "D")
    assert ont.defects["corrosion.pitting"].parent == "corrosion"
    assert ont.defects["scratch.deep"].kind == "functional"
    assert ont.defects["scratch.cosmetic"].kind == "cosmetic"
    assert ont.abbreviations["repl"] == "replace"
    assert len(ont.version) == 12


def test_children_inherit_kind_and_severities() -> None:
    ont = loads_ontology(MINIMAL)
    assert ont.defects["crack.fatigue"].kind == "functional"
    assert ont.defects["crack.fatigue"].severities == ("minor", "moderate", "severe")
    assert ont.ancestors("crack.fatigue") == ("crack",)


def test_lookup_is_case_and_separator_insensitive() -> None:
    ont = default_ontology()
    pitting = ont.lookup("Pitted-Surface")
    assert pitting is not None and pitting.id == "corrosion.pitting"
    brg = ont.lookup("BRG")
    assert brg is not None and (brg.kind, brg.id) == ("component", "bearing")
    assert ont.lookup("no such thing") is None
    assert loads_ontology(MINIMAL).abbreviations == {"repl": "replace"}


def test_rubric_worst_finding_decides() -> None:
    ont = default_ontology()
    assert ont.grade_for([]) == "A"
    assert ont.grade_for([("scratch.cosmetic", "minor")]) == "B"
    assert ont.grade_for([("scratch.cosmetic", "minor"), ("crack.micro_crack", "severe")]) == "D"
    assert ont.grade_for([("crack.fatigue", "minor")]) == "C"
    tiny = loads_ontology(MINIMAL)
    assert tiny.grade_for([("crack.fatigue", "minor")]) == "C"  # rule on the parent covers the child


def test_unknown_terms_name_the_allowed_ones() -> None:
    ont = default_ontology()
    with pytest.raises(OntologyError, match="did you mean"):
        ont.resolve_defect("corosion")
    with pytest.raises(OntologyError, match="unknown severity 'extreme'"):
        ont.grade_for([("dent", "extreme")])
    with pytest.raises(OntologyError, match="unknown grade 'E'"):
        ont.grades.index("E")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (MINIMAL.replace("kind: cosmetic\ncomponents", "kind: shiny\ncomponents"), "must be 'cosmetic' or", 10),
        (MINIMAL.replace("{defect: crack, grade: C}", "{defect: crak, grade: C}"), "unknown defect 'crak'", 17),
        (MINIMAL.replace("{kind: cosmetic, grade: B}", "{kind: cosmetic, grade: E}"), "grade 'E' unknown", 18),
        (MINIMAL.replace("name: tiny", "name: tiny\ncolour: red"), "unknown key 'colour'", 2),
        (MINIMAL.replace("synonyms: [brg]", "synonyms: [cracked]"), "used for both", 12),
        (MINIMAL.replace("synonyms: [brg]", "synonyms: [CRACKED]"), "as 'cracked', the same term once normalised", 12),
        (MINIMAL.replace("synonyms: [brg]", "synonyms: [\"cra\u200bcked\"]"), "used for both", 12),
        (MINIMAL.replace("grades: [A, B, C]", "grades: [A, ' A', C]"), "without surrounding spaces", 2),
        (MINIMAL.replace("grades: [A, B, C]", "grades: [A, '', C]"), "must be non-empty", 2),
        (MINIMAL.replace("grades: [A, B, C]", "grades: [A, {id: null}, C]"), "the id must be a name", 2),
        (MINIMAL.replace("grades: [A, B, C]", "grades: [{id: A, name: Good}, {id: B, name: good}, C]"),
         "grade names must be unique", 2),
        (MINIMAL.replace("  bearing: {synonyms: [brg]}", "  bearing: {synonyms: [brg], parent: shaft}\n"
                         "  shaft: {parent: bearing}"), "cycle: bearing -> shaft -> bearing", 12),
        (MINIMAL.replace("grades: [A, B, C]", "grades: [A]"), "at least two grades", 2),
        (MINIMAL + "name: again\n", "duplicate key 'name'", 19),
        ("grades: [A, B]\ndefects: [1, 2\n", "invalid YAML", None),
    ],
)
def test_bad_files_name_key_and_line(text: str, message: str, line: int | None) -> None:
    with pytest.raises(OntologyError, match=message) as info:
        loads_ontology(text, source="bad.yaml")
    assert info.value.where is not None and info.value.where.startswith("bad.yaml")
    if line is not None:
        assert info.value.where == f"bad.yaml, line {line}"


def test_version_changes_with_content_not_with_comments() -> None:
    a = loads_ontology(MINIMAL)
    b = loads_ontology("# a comment\n" + MINIMAL)
    c = loads_ontology(MINIMAL.replace("grade: B", "grade: A"))
    assert a.version == b.version
    assert a.version != c.version


def test_load_from_file_errors(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="file not found"):
        load_ontology(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(OntologyError, match="not UTF-8"):
        load_ontology(bad)


def test_cli_check_and_show(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    runner = CliRunner()
    app = build_app()
    result = runner.invoke(app, ["ontology", "check", str(good)])
    assert result.exit_code == 0, result.output
    # pytest-xdist's workers start with COLUMNS=80, which the CLI's console keeps from its making: rich wraps
    # the line after a long tmp path, wherever the path's length puts the break
    assert "3 grades" in " ".join(result.output.split())
    shown = runner.invoke(app, ["ontology", "show"])
    assert shown.exit_code == 0, shown.output
    assert "corrosion.pitting" in shown.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("grade: C}", "grade: Z}"), encoding="utf-8")
    failed = runner.invoke(app, ["ontology", "check", str(bad)])
    assert failed.exit_code != 0
    assert isinstance(failed.exception, OntologyError)


def test_terms_match_across_unicode_forms_and_case_folding() -> None:
    ont = loads_ontology(MINIMAL.replace("synonyms: [cracked]", "synonyms: [cracked, \"corrosi\u00f3n\", stra\u00dfe]"))
    for typed in ("corrosio\u0301n", "CORROSI\u00d3N", "STRASSE", "\uff43\uff52\uff41\uff43\uff4b", "cra\u200bck"):
        match = ont.lookup(typed)
        assert match is not None and match.id == "crack", typed
    numbered = MINIMAL.replace("grades: [A, B, C]", "grades: [1, 2, 3]").replace("grade: C", "grade: 3")
    assert loads_ontology(numbered.replace("grade: B", "grade: 2")).grades.names == ("1", "2", "3")


def test_a_billion_laughs_ontology_is_refused_quickly() -> None:
    levels = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = MINIMAL.replace("  scratch:\n    kind: cosmetic", "  scratch:\n    kind: cosmetic\n"
                           "    description: *l8").replace("name: tiny", "name: tiny\nlaughs:\n" + "\n".join(levels))
    with pytest.raises(OntologyError, match="aliases expand"):  # 9**9 strings once expanded: refused unexpanded
        loads_ontology(bomb)


def test_yaml_11_booleans_and_base_60_numbers_stay_text_in_an_ontology() -> None:
    text = (resources.files("assetgrade.ontology") / "default.yaml").read_text(encoding="utf-8")
    text = text.replace("abbreviations:\n", "abbreviations:\n  no: number\n  on: online\n  y: yard\n", 1)
    abbr = loads_ontology(text).abbreviations
    # PyYAML's YAML 1.1 made these false, true and True: "No 3 pump" would have read "false 3 pump"
    assert (abbr["no"], abbr["on"], abbr["y"]) == ("number", "online", "yard")
    assert "false" not in abbr and "true" not in abbr
