"""The labelling guide covers every grade and defect of the ontology, in Markdown and HTML."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest

from assetgrade.errors import OntologyError
from assetgrade.ontology import default_ontology
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
