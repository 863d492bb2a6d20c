"""Cleaning log text: HTML references decoded before tags are blanked, spans mapped back to the stored text."""

from __future__ import annotations

import html

import pytest

from assetgrade.modalities.text.clean import MAX_UNESCAPES, clean_entry
from assetgrade.modalities.text.summary import LogSummarizer
from assetgrade.ontology import default_ontology
from assetgrade.store.records import LogEntry


@pytest.fixture(scope="module")
def summarizer() -> LogSummarizer:
    return LogSummarizer(default_ontology())


@pytest.mark.parametrize(
    ("text", "word", "stored"),
    [
        ("&lt;b&gt;cracked&lt;/b&gt;", "cracked", "cracked"),  # an escaped tag is blanked like a tag
        ("&#99;racked boom", "cracked", "&#99;racked"),  # a letter written as a reference
        ("boom &#x63;racked", "cracked", "&#x63;racked"),
        ("crack&amp;leak", "crack", "crack"),  # an escaped ampersand joining two words
        ("crack&amp;leak", "leak", "leak"),
        ("&amp;lt;b&amp;gt;cracked", "cracked", "cracked"),  # escaped twice
        ("hose&nbsp;leaking", "leaking", "leaking"),
        ("ol&eacute; boom cracked", "cracked", "cracked"),  # a decoded letter before the word shifts its span
    ],
)
def test_escaped_html_does_not_hide_a_word(summarizer: LogSummarizer, text: str, word: str, stored: str) -> None:
    findings, flags = summarizer.entry_findings(LogEntry("e", text))
    hit = [f for f in findings if f.summary == word]
    assert flags == [] and len(hit) == 1, [(f.summary, f.span) for f in findings]
    assert hit[0].span is not None and text[hit[0].span[0]:hit[0].span[1]] == stored  # the stored text's span


def test_spans_agree_between_entry_findings_and_summarize(summarizer: LogSummarizer) -> None:
    text = "&#99;racked boom, hyd hose leaking &amp; worn"
    one, _ = summarizer.entry_findings(LogEntry("e", text))
    many = summarizer.summarize([LogEntry("e", text)]).findings
    assert one == many
    assert [text[f.span[0]:f.span[1]] for f in one if f.span] == ["&#99;racked", "leaking", "worn"]


@pytest.mark.parametrize("text", ["pressure < 5 bar, hose leaking", "pressure &lt; 5 bar, hose leaking",
                                  "pressure <5 bar > 2 bar, hose leaking", "flow &lt;a few l/min&gt; hose leaking"])
def test_a_literal_angle_bracket_is_kept(summarizer: LogSummarizer, text: str) -> None:
    cleaned = clean_entry(text, 200).text
    assert cleaned == html.unescape(text)  # nothing blanked: "<a few l/min>" has no attributes, so it is no tag
    (leak,), _ = summarizer.entry_findings(LogEntry("e", text))
    assert leak.span is not None and text[leak.span[0]:leak.span[1]] == "leaking"


def test_each_cleaned_character_comes_from_its_source_span() -> None:
    text = "&amp;lt;b&amp;gt;crack&amp;amp;leak &#99;racked\u00a0no&nbsp;leak <br/>x &bogus; &frac12;"
    c = clean_entry(text, 500)
    assert c.text == "   crack&leak cracked no leak      x &bogus; \u00bd"
    assert len(c.starts) == len(c.ends) == len(c.text)
    for i, ch in enumerate(c.text):
        source = text[c.starts[i]:c.ends[i]]
        for _ in range(MAX_UNESCAPES):
            source = html.unescape(source)
        # a decoded reference gives its character; a blanked tag or no-break space gives spaces
        assert ch == source or (ch == " " and (not source.strip() or source in "<b>/br")), (i, ch, source)
    assert c.starts == tuple(sorted(c.starts)) and c.ends[-1] == len(text)


def test_escaping_is_undone_at_most_max_unescapes_times() -> None:
    escaped = "x&" + "amp;" * (MAX_UNESCAPES - 1) + "lt;y"  # "x<y" escaped MAX_UNESCAPES times
    assert clean_entry(escaped, 100).text == "x<y"
    once_more = "x&" + "amp;" * MAX_UNESCAPES + "lt;y"
    assert clean_entry(once_more, 100).text == "x&lt;y"


def test_nothing_decoded_keeps_the_identity_map() -> None:
    c = clean_entry("<b>pump</b> leaking", 100)
    assert c.starts == () and c.source_span(3, 7) == (3, 7) and c.text == "   pump     leaking"
