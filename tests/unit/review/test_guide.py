"""The labelling guide covers every grade and defect of the ontology, in Markdown and HTML."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from markdown_it.token import Token

from assetgrade.errors import OntologyError
from assetgrade.ontology import Ontology, default_ontology
from assetgrade.review.guide import GuideExample, labelling_guide


def test_guide_contains_every_defect_grade_and_rubric_grade() -> None:
    ont = default_ontology()
    guide = labelling_guide(ont)
    md, page = guide.markdown(), guide.html()
    for g in ont.grades.grades:
        assert f"**{g.id}**" in md and g.description in md
        assert f'id="grade-{g.id}"' in page
    for d in ont.defects.values():
        assert f"(`{d.id}`) — {d.kind}" in md, d.id
        assert f'id="defect-{d.id}"' in page
        for syn in d.synonyms:
            assert syn in md
    assert ont.version in md and ont.version in page
    # the rubric grade per severity: cracks of moderate severity are D, cosmetic scratches minor B
    crack = next(e for e in guide.entries if e.defect.id == "crack")
    assert dict(crack.grade_by_severity)["moderate"] == "D"
    scratch = next(e for e in guide.entries if e.defect.id == "scratch.cosmetic")
    assert dict(scratch.grade_by_severity)["minor"] == "B"
    assert "## Cosmetic vs functional" in md and "When reviewers disagree" in md


def test_children_follow_their_parent() -> None:
    guide = labelling_guide(default_ontology())
    ids = [e.defect.id for e in guide.entries]
    for e in guide.entries:
        if e.defect.parent is not None:
            assert ids.index(e.defect.parent) < ids.index(e.defect.id)
            assert e.depth >= 1


def test_examples_appear_escaped() -> None:
    ex = {
        "dent": [GuideExample("reviewed/dent_01.jpg", grade="B", severity="minor", note="door <panel>")],
        "D": [GuideExample("ev-123", grade="D")],
    }
    guide = labelling_guide(default_ontology(), examples=ex)
    md, page = guide.markdown(), guide.html()
    assert "![reviewed/dent_01.jpg](reviewed/dent_01.jpg)" in md and "`ev-123`" in md
    assert '<img src="reviewed/dent_01.jpg"' in page and html.escape("door <panel>") in page
    assert "door <panel>" not in page
    HTMLParser().feed(page)  # parses


def test_unknown_example_key_is_refused() -> None:
    with pytest.raises(OntologyError, match="unknown defect"):
        labelling_guide(default_ontology(), examples={"dnet": [GuideExample("x.png")]})


HOSTILE_NAME = "Plant *7* | `line` # [x](http://e.org) <b>"
HOSTILE_DESC = "line one\nline two | <script>alert(1)</script> &amp; ~~gone~~ _it_ **bold** \\"
HOSTILE_DEFECT = "*Seal* _leak_ [x](y) | `z` #"
HOSTILE_PATH = "dir with space/[x] (1)|*_`a`_&amp;#2.jpg"
HOSTILE_NOTE = "note with `tick` and\nnewline | pipe *star* <i>"


def _hostile_guide() -> tuple[Ontology, str]:
    from assetgrade.ontology.loader import parse_ontology

    ont = parse_ontology({
        "name": HOSTILE_NAME,
        "grades": [
            {"id": "A|1", "name": "Like [new](http://e.org)", "description": HOSTILE_DESC},
            {"id": "B_*", "name": "Worn `out`", "description": "- looks like a list\n# and a heading"},
        ],
        "defects": {"seal`leak": {"name": HOSTILE_DEFECT, "kind": "functional",
                                  "description": "# not a heading\n- nor a list", "synonyms": ["a|b", "c_d_"],
                                  "severities": ["minor|x", "major"]}},
        "rubric": {"default_grade": "A|1", "rules": [{"defect": "seal`leak", "severity": "major", "grade": "B_*"}]},
    })
    examples = {"seal`leak": [GuideExample(HOSTILE_PATH, grade="B_*", severity="minor|x", note=HOSTILE_NOTE),
                              GuideExample("ev`id|``x", note="*")],
                "A|1": [GuideExample("ev-1", note="1. not a list")]}
    return ont, labelling_guide(ont, examples=examples).markdown()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cell_texts(tokens: list[Token], start: int) -> list[list[str]]:
    """The rows of the table starting at ``start``, each cell's inline content rendered back to plain text."""
    rows: list[list[str]] = []
    for tok in tokens[start:]:
        if tok.type == "table_close":
            return rows
        if tok.type == "tr_open":
            rows.append([])
        if tok.type == "inline":
            rows[-1].append("".join(c.content for c in tok.children or []))
    raise AssertionError("table not closed")


def test_markdown_shows_hostile_names_paths_and_notes_as_written() -> None:
    """Names, ids, paths and notes went into the Markdown as they were: a '|' split a table cell, a newline ended
    the row, '*'/'_'/'~~' made emphasis, '[x](y)' a link, '<script>' raw HTML, a backtick broke the code span."""
    from urllib.parse import unquote

    from markdown_it import MarkdownIt

    ont, md = _hostile_guide()
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(md)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"link_open", "html_inline", "html_block", "s_open", "code_block", "blockquote_open",
                        "ordered_list_open"}, kinds
    inline = {i: t for i, t in enumerate(tokens) if t.type == "inline"}
    plain = {i: "".join(c.content for c in t.children or []) for i, t in inline.items()}
    headings = [(t.tag, plain[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        ("h1", f"Labelling guide — {_flat(HOSTILE_NAME)}"), ("h2", "Grades"), ("h2", "Cosmetic vs functional"),
        ("h2", "Defects"), ("h3", f"{_flat(HOSTILE_DEFECT)} (seal`leak) — functional"),
        ("h2", "Reviewed examples by grade"), ("h2", "When reviewers disagree")]
    grades = _cell_texts(tokens, next(i for i, t in enumerate(tokens) if t.type == "table_open"))
    assert grades == [["grade", "name", "description", "findings that lead here"],
                      ["A|1", "Like [new](http://e.org)", _flat(HOSTILE_DESC), f"{_flat(HOSTILE_DEFECT)} (minor|x)"],
                      ["B_*", "Worn `out`", "- looks like a list # and a heading", f"{_flat(HOSTILE_DEFECT)} (major)"]]
    defect_heading = next(inline[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h3")
    codes = [c.content for c in defect_heading.children or [] if c.type == "code_inline"]
    assert codes == ["seal`leak"]
    assert any(p == "# not a heading - nor a list" for p in plain.values())
    assert any(p == "Also called: a|b, c_d_." for p in plain.values())
    images = [c for t in inline.values() for c in t.children or [] if c.type == "image"]
    assert len(images) == 1 and unquote(str(images[0].attrs["src"])) == HOSTILE_PATH
    assert "".join(c.content for c in images[0].children or []) == HOSTILE_PATH  # the alt text
    example = next(p for p in plain.values() if "note with" in p)
    assert example.endswith(f" — grade B_*; minor|x; {_flat(HOSTILE_NOTE)}")
    assert any(c.content == "ev`id|``x" for t in inline.values() for c in t.children or [] if c.type == "code_inline")
    assert any(p == "ev-1 — 1. not a list" for p in plain.values())
    strong = [t.children[i + 1].content for t in inline.values() for i, c in enumerate(t.children or [])
              if c.type == "strong_open" and t.children]
    assert sorted(set(strong)) == ["A|1", "B_*", "cosmetic", "functional"]
    assert ont.version in md
