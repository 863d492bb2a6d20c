"""Adversarial ontology files: every refusal is an OntologyError naming the file, line and field, never a
traceback or a silently wrong value ('None' as a name, an empty synonym that links every blank term)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ontology_texts import MINIMAL

from assetgrade.errors import OntologyError
from assetgrade.ontology import load_ontology, loads_ontology
from assetgrade.ontology.loader import MAX_ONTOLOGY_BYTES
from assetgrade.strict_yaml import MAX_DEPTH, load_unique

SCRATCH = "    kind: cosmetic\n"
RULES = "  rules:\n    - {defect: crack, grade: C}\n    - {kind: cosmetic, grade: B}\n"


def _refused(text: str, message: str, line: int) -> OntologyError:
    with pytest.raises(OntologyError, match=message) as info:
        loads_ontology(text, source="bad.yaml")
    assert info.value.where == f"bad.yaml, line {line}", info.value.where
    return info.value


@pytest.mark.parametrize(("text", "message", "line"), [
    # the rubric: values of the wrong type were a TypeError traceback
    (MINIMAL.replace("{defect: crack, grade: C}", "{defect: [crack], grade: C}"), r"defect must be a defect id", 17),
    (MINIMAL.replace("{defect: crack, grade: C}", "{defect: {a: 1}, grade: C}"), r"defect must be a defect id", 17),
    (MINIMAL.replace(RULES, "  rules: 5\n"), r"'rules' must be a list", 16),
    (MINIMAL.replace(RULES, "  rules: {defect: crack, grade: C}\n"), r"'rules' must be a list", 16),
    # null, lists and booleans where text belongs were stored as 'None', "['a', 'b']", 'True'
    (MINIMAL.replace(SCRATCH, SCRATCH + "    name:\n"), r"scratch.*name must be text, got null", 11),
    (MINIMAL.replace(SCRATCH, SCRATCH + "    name: [a, b]\n"), r"name must be text, got a list", 11),
    (MINIMAL.replace(SCRATCH, SCRATCH + "    description:\n"), r"description must be text", 11),
    (MINIMAL.replace("grades: [A, B, C]", "grades: [{id: A, name: null}, B, C]"), r"grades\[0\] name must be text", 2),
    (MINIMAL.replace("grades: [A, B, C]", "grades: [{id: A, description: [x]}, B, C]"), r"description must be text", 2),
    (MINIMAL.replace("REPL: replace", "REPL:"), r"abbreviation 'REPL' must expand to text, got null", 14),
    (MINIMAL.replace("REPL: replace", "REPL: [a, b]"), r"abbreviation 'REPL' must expand to text", 14),
    (MINIMAL.replace("REPL: replace", "~: nothing"), r"abbreviation must be text, got null", 14),
    (MINIMAL.replace("  bearing: {synonyms: [brg]}", "  bearing: {synonyms: [brg], name: }"), r"name must be text", 12),
    (MINIMAL.replace("  bearing: {synonyms: [brg]}", "  bearing: {synonyms: [brg]}\n  ~: {}"),
     r"component id must be", 13),
    (MINIMAL.replace("  bearing: {synonyms: [brg]}", "  bearing: {parent: [x]}"), r"parent must be text", 12),
    (MINIMAL.replace("name: tiny", "name:"), r"'name' must be text, got null", 1),
    (MINIMAL.replace("name: tiny", "name: [a]"), r"'name' must be text", 1),
    (MINIMAL.replace("synonyms: [cracked]", "synonyms: [cracked, true]"), r"synonyms must be a list of strings", 6),
    # blank text: an empty synonym made lookup('') and OntologyLinker.link('  ') answer Crack (score 1.0)
    (MINIMAL.replace("synonyms: [cracked]", "synonyms: [cracked, '']"), r"blank", 6),
    (MINIMAL.replace("synonyms: [cracked]", "synonyms: [cracked, ' \u200b ']"), r"blank", 6),
    (MINIMAL.replace(SCRATCH, SCRATCH + "    name: ''\n"), r"blank", 11),
    (MINIMAL.replace("REPL: replace", "REPL: '  '"), r"blank", 14),
    # abbreviations are looked up lower-cased: the second of REPL / repl silently replaced the first
    (MINIMAL.replace("REPL: replace", "REPL: replace\n  repl: replicate"), r"'repl'.*same abbreviation as 'REPL'", 15),
    (MINIMAL.replace("REPL: replace", "\"\u00e9t\": a\n  \"e\u0301t\": b"), r"same abbreviation", 15),
    # severities: blank or repeated, and (when the file lists them) one the list does not define
    (MINIMAL.replace(SCRATCH, SCRATCH + "    severities: [minor, minor]\n"),
     r"'minor' is given twice", 11),
    (MINIMAL.replace(SCRATCH, SCRATCH + "    severities: ['']\n"), r"blank", 11),
    (MINIMAL.replace("name: tiny", "name: tiny\nseverities: [minor, severe]").replace(
        SCRATCH, SCRATCH + "    severities: [minor, extreme]\n"),
     r"severity 'extreme' is not in the top-level 'severities'", 12),
    (MINIMAL.replace("name: tiny", "name: tiny\nseverities: []"), r"'severities' must list at least one", 2),
    # ids padded with spaces (' scratch' beside a rule naming 'scratch'), as grade ids already are
    (MINIMAL.replace("  scratch:\n", "  ' scratch':\n"), r"without dots or surrounding spaces", 9),
    # an unknown parent names the 'parent' line and the known components, not the component's first line
    (MINIMAL.replace("  bearing: {synonyms: [brg]}", "  bearing:\n    synonyms: [brg]\n    parent: nope"),
     r"unknown parent 'nope'; known: \['bearing'\]", 14),
])
def test_bad_values_are_refused_naming_file_line_and_field(text: str, message: str, line: int) -> None:
    _refused(text, message, line)


def test_yaml_nested_deeper_than_the_limit_is_refused_not_a_recursion_error() -> None:
    deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"  # was RecursionError from the composer
    with pytest.raises(OntologyError, match="nested more than"):
        loads_ontology(deep, source="bad.yaml")
    # a few hundred bytes of aliases, each adding 90 levels: small when counted, 1,800 levels when built
    rows = ["a0: &a0 [x]"] + [f"a{i}: &a{i} " + "[" * 90 + f"*a{i - 1}" + "]" * 90 for i in range(1, 21)]
    with pytest.raises(OntologyError, match="nested more than"):
        loads_ontology("\n".join(rows), source="bad.yaml")
    ok = "x: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    assert isinstance(load_unique(ok)["x"], list)


def test_severities_of_their_own_are_still_allowed_without_a_top_level_list() -> None:
    text = MINIMAL.replace(SCRATCH, SCRATCH + "    severities: [light, heavy]\n")
    assert loads_ontology(text).defects["scratch"].severities == ("light", "heavy")
    listed = text.replace("name: tiny", "name: tiny\nseverities: [light, heavy, minor, moderate, severe]")
    assert loads_ontology(listed).defects["scratch"].severities == ("light", "heavy")


def test_numbers_stay_allowed_where_text_belongs_and_equal_abbreviations_pass() -> None:
    text = MINIMAL.replace("REPL: replace", "REPL: replace\n  repl: replace\n  7: seven").replace(
        "  bearing: {synonyms: [brg]}", "  bearing: {synonyms: [brg, 6205], name: 6205 bearing}")
    ont = loads_ontology(text)
    assert ont.abbreviations == {"repl": "replace", "7": "seven"}
    match = ont.lookup("6205")
    assert match is not None and match.id == "bearing"


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text(MINIMAL + "# " + "x" * MAX_ONTOLOGY_BYTES + "\n", encoding="utf-8")
    with pytest.raises(OntologyError, match="larger than") as info:  # was parsed in full, seconds per MB
        load_ontology(huge)
    assert info.value.where == str(huge)
    with pytest.raises(OntologyError, match="larger than"):
        loads_ontology("y" * (MAX_ONTOLOGY_BYTES + 1), source="big.yaml")


def test_a_component_id_given_as_a_number_and_as_text_is_refused() -> None:
    # `1:` and `'1':` are two YAML keys but one id, "1": the second silently replaced the first
    text = MINIMAL.replace("components:\n  bearing: {synonyms: [brg]}\n",
                           "components:\n  bearing: {synonyms: [brg]}\n  1: {name: uno}\n  '1': {name: one}\n")
    _refused(text, r"component id '1' is given twice \(as 1 and as '1'\)", 14)
