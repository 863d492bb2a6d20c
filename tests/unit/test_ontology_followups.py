"""Follow-ups of the ontology audit: ``ontology show --yaml`` round-trips, Unicode forms in abbreviation and
fault-word matching, and loader errors for control and format characters."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.errors import OntologyError
from assetgrade.ontology import Ontology, default_ontology, load_ontology, loads_ontology
from assetgrade.ontology.loader import ontology_yaml

CUSTOM = """\
# a comment that --yaml drops
name: tiny
grades: [A, B, {id: C, name: Poor, description: "needs work"}]
severities: [minor, severe]
defects:
  crack:
    kind: functional
    synonyms: [Cracked, "Haarriss"]
    children:
      fatigue: {severities: [severe]}
  scratch: &cosmetic
    kind: cosmetic
  scuff: *cosmetic
components:
  6205: {name: deep groove bearing, synonyms: [brg]}
  bucket: {parent: "6205"}
abbreviations:
  REPL: replace
  "CORROSIO\u0301N": corrosion
rubric:
  default_grade: A
  rules:
    - {defect: crack, severity: severe, grade: C}
    - {kind: cosmetic, grade: B}
"""


def _assert_same(back: Ontology, ont: Ontology) -> None:
    assert back.version == ont.version
    assert dataclasses.replace(back, source=ont.source) == ont  # grades, defect tree, components, abbreviations,
    assert dict(back._terms) == dict(ont._terms)                # rubric; terms are left out of ==
    assert list(back.defects) == list(ont.defects)              # the tree keeps the file's order


def test_show_yaml_round_trips_the_default_ontology(tmp_path: Path) -> None:
    ont = default_ontology()
    result = CliRunner().invoke(build_app(), ["ontology", "show", "--yaml"])
    assert result.exit_code == 0, result.output
    assert "┃" not in result.output and "Grades (best first)" not in result.output  # not the tables
    out = tmp_path / "shown.yaml"
    out.write_text(result.output, encoding="utf-8")
    _assert_same(load_ontology(out), ont)
    checked = CliRunner().invoke(build_app(), ["ontology", "check", str(out)])
    assert checked.exit_code == 0 and ont.version in checked.output, checked.output


def test_show_yaml_round_trips_a_custom_ontology(tmp_path: Path) -> None:
    src = tmp_path / "custom.yaml"
    src.write_text(CUSTOM, encoding="utf-8")
    ont = load_ontology(src)
    result = CliRunner().invoke(build_app(), ["ontology", "show", "--yaml", "--file", str(src)])
    assert result.exit_code == 0, result.output
    assert "comment" not in result.output and "&" not in result.output  # comments dropped, aliases expanded
    _assert_same(loads_ontology(result.output), ont)
    assert ontology_yaml(src) == result.output


# -- Unicode forms in abbreviation matching (NFKC before lower-casing, UAX #15) ------------------------------

NFD_UPPER = "FISSURE\u0301"      # 'FISSURÉ' with a combining acute, as macOS stores typed text
FULL_WIDTH = "\uff23\uff32\uff2b"  # 'ＣＲＫ'

UNICODE_ONT = """\
name: unicode
grades: [A, B]
defects:
  crack: {kind: functional, synonyms: [cracked]}
abbreviations:
  crk: cracked
  "fissur\u00e9": cracked
rubric:
  rules: [{defect: crack, grade: B}]
"""


def test_normaliser_abbreviations_match_nfd_and_full_width_tokens() -> None:
    from assetgrade.datasets.maintnorm import NormText
    from assetgrade.modalities.text.normalize import Normalizer

    pairs = [NormText(("REPL", "HOSE"), ("replace", "hose")), NormText(("BOOM", "LEAKING"), ("boom", "leaking"))] * 3
    norm = Normalizer(abbreviations=loads_ontology(UNICODE_ONT).abbreviations, n_folds=2, lexicon=(),
                      word_frequency=False).fit(pairs)
    assert norm.normalize_tokens([NFD_UPPER, FULL_WIDTH, "CRK"]) == ["cracked", "cracked", "cracked"]
    assert norm._lookup(NFD_UPPER) == norm._lookup(FULL_WIDTH) == "cracked"  # the candidate generator's look-up


def test_summary_abbreviations_match_nfd_and_full_width_tokens() -> None:
    from assetgrade.modalities.text.summary import LogSummarizer
    from assetgrade.store.records import LogEntry

    summ = LogSummarizer(loads_ontology(UNICODE_ONT))
    for text in (f"boom {NFD_UPPER}", f"boom {FULL_WIDTH}", "boom CRK"):
        found = summ.entry_findings(LogEntry("e1", text))[0]
        assert [f.defect for f in found] == ["crack"], (text, found)


# -- fault words from the ontology ------------------------------------------------------------------------


@pytest.mark.parametrize("synonym", ["Haarriss", "HAARRISS", "Haarri\u00df",
                                     "\uff28\uff41\uff41\uff52\uff52\uff49\uff53\uff53", "Fissure\u0301"])
def test_a_synonym_in_any_case_or_unicode_form_is_a_fault_word(synonym: str) -> None:
    """A checklist answer ('Haarriss: No') negates only a fault word; a synonym written mixed-case, full-width or
    with a combining accent (NFD) must be one like its NFC, lower-case form typed in the log."""
    from assetgrade.modalities.text.summary import LogSummarizer
    from assetgrade.store.records import LogEntry

    ont = loads_ontology(f'name: u\ngrades: [A, B]\ndefects:\n  crack: {{kind: functional, synonyms: ["{synonym}"]}}\n'
                         "rubric:\n  rules: [{defect: crack, grade: B}]\n")
    summ = LogSummarizer(ont)
    typed = unicodedata.normalize("NFKC", synonym).lower()
    assert typed in summ.negation.fault_words
    found = summ.entry_findings(LogEntry("e1", f"{typed}: No"))[0]
    assert [(f.defect, f.status) for f in found] == [("crack", "negated")]


# -- loader: control and format characters ----------------------------------------------------------------

BASE = "name: x\ngrades: [A, B]\ndefects:\n  crack: {kind: functional}\n"


@pytest.mark.parametrize(("text", "line"), [
    (BASE + '  scratch: {kind: cosmetic, name: "a\x00b"}\n', 5),    # NUL
    (BASE + "components:\n  bearing: {}\n  hub\x07: {}\n", 7),       # BEL
    ("name: x\r\ngrades: [A, B]\r\n\x1b\r\n", 3),                      # CRLF line ends count once
    ("name: x\rgrades: [A, B]\r\x1b\n", 3),                            # so do old Mac CR line ends
])
def test_a_control_character_names_its_line(text: str, line: int) -> None:
    with pytest.raises(OntologyError, match=r"U\+00(00|07|1B)") as info:
        loads_ontology(text, source="bad.yaml")
    assert info.value.where == f"bad.yaml, line {line}", info.value.where
    assert "position" not in str(info.value)


@pytest.mark.parametrize(("entry", "line", "char"), [
    ("  scr\ufeffatch: {kind: cosmetic}\n", 5, "U+FEFF"),                  # a BOM inside a defect id
    ("  scratch:\n    kind: cosmetic\n    children:\n      ru\u200bst: {}\n", 8, "U+200B"),  # zero-width space
    ('  "scr\\tatch": {kind: cosmetic}\n', 5, "U+0009"),                     # an escaped tab
    ("components:\n  bear\u00ading: {}\n", 6, "U+00AD"),                  # soft hyphen in a component id
    ('components:\n  "hub\\x01": {}\n', 6, "U+0001"),
])
def test_an_id_with_an_invisible_character_is_refused(entry: str, line: int, char: str) -> None:
    with pytest.raises(OntologyError, match=re.escape(char)) as info:
        loads_ontology(BASE + entry, source="bad.yaml")
    assert info.value.where == f"bad.yaml, line {line}", info.value.where


def test_a_grade_id_with_a_format_character_is_refused() -> None:
    with pytest.raises(OntologyError, match="U\\+200D") as info:
        loads_ontology("name: x\ngrades:\n  - A\n  - {id: \"B\u200d\"}\ndefects:\n  crack: {kind: functional}\n",
                       source="bad.yaml")
    assert info.value.where == "bad.yaml, line 4", info.value.where


def test_visible_unicode_ids_and_a_leading_bom_still_load() -> None:
    ont = loads_ontology("\ufeff" + BASE + "  fissur\u00e9: {kind: cosmetic}\ncomponents:\n  \u8f74\u627f: {}\n")
    assert "fissur\u00e9" in ont.defects and "\u8f74\u627f" in ont.components
