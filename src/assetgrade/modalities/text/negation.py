"""Negation and uncertainty of findings in maintenance texts: a NegEx-style scoped-trigger method.

NegEx (Chapman et al. 2001, J Biomed Inform 34:301) marks a finding negated when a trigger
phrase ("no", "denies") lies within a few words before or after it and no scope terminator
intervenes. Maintenance text needs these changes, measured on real work orders (the checklist one on
hand-written checklist lines, as the real samples hold none):

* "no"/"not" usually *describe* a failure ("no start", "will not run", "no power"):
  a pre-negation trigger negates a finding only when the finding is a fault word (``no
  leak``, ``nil cracks``) or the trigger is directly before it (``not required``); a
  trigger inside the finding's own span is part of the finding.
* Uncertainty has two kinds: *requests* (check, inspect, investigate, diagnose, test...)
  and *hedges* (possible, suspect, appears, "?"). A repair action in the same clause
  ("investigate / repair oil leak") means the fault was found: requests yield to it,
  hedges do not.
* Component names that contain trigger words ("check valve", "test point") are pseudo-triggers.
* Checklists answer an item: "Leak: No", "Leaks - none", "Oil leak? no", "Crack: N" negate the
  fault named by the item, when the answer ends the item (text end, line break, punctuation or
  the next item's label); such an answer negates nothing after it, and a "?" answered so is a
  question, not a hedge. The word lists live in :mod:`.negation_terms`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from assetgrade.modalities.text.negation_terms import (
    CHECKLIST_ITEM_END,
    CHECKLIST_NEGATIVE,
    CHECKLIST_POSITIVE,
    CHECKLIST_SEPARATORS,
    FAULT_WORDS,
    HEDGE,
    NOT,
    POST_HEDGE,
    POST_NEG,
    POST_REQUEST,
    PRE_NEG,
    PSEUDO,
    REPAIR,
    REQUEST,
    TERMINATE,
)
from assetgrade.modalities.text.normalize import abbreviation_key
from assetgrade.ontology import singular_forms

__all__ = ["FAULT_WORDS", "NegationDetector", "Status", "tokenize_spans"]

Status = Literal["confirmed", "negated", "uncertain"]

_TOKEN = re.compile(r"\w+(?:['/-]\w+)*|[^\w\s]")
_TYPOGRAPHIC = str.maketrans({"\u2019": "'", "\u2013": "-", "\u2014": "-"})
_LINE_BREAK = re.compile(r"[\n\r\v\f\x85\u2028\u2029]")


def tokenize_spans(text: str) -> list[tuple[str, int, int]]:
    """Word and punctuation tokens, NFKC-normalised and lower-cased, with their character offsets in ``text``.

    Tokens are compared with the fault and trigger words in the form those take
    (:func:`.normalize.abbreviation_key`: NFKC, UAX #15, then lower-case), so a word typed in
    full-width letters (``ＣＲＡＣＫ：Ｎｏ``) or decomposed (``FISSURE`` + U+0301, NFD) reads as
    typed plainly; the offsets stay those of the text as given, though NFKC may change its
    length (``ﬁ`` → ``fi``, E + U+0301 → ``É``).

    >>> tokenize_spans("No leak, L/H.")
    [('no', 0, 2), ('leak', 3, 7), (',', 7, 8), ('l/h', 9, 12), ('.', 12, 13)]
    >>> tokenize_spans("\ufb01ssure: \uff2e\uff4f")
    [('fissure', 0, 6), (':', 6, 7), ('no', 8, 10)]
    """
    # typographic apostrophe and dashes (``isn’t``, ``leak – ok`` from phones and word processors) read as
    # ``'`` and ``-``, so an en or em dash ends a clause as a hyphen does; same length
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text.translate(_TYPOGRAPHIC))]
    norm, starts, ends = _nfkc_with_offsets(text)
    return [(m.group(0).lower(), starts[m.start()], ends[m.end() - 1])
            for m in _TOKEN.finditer(norm.translate(_TYPOGRAPHIC))]


_MARKS = frozenset(("Mn", "Mc", "Me"))


def _nfkc_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """NFKC form of ``text`` and, for each of its characters, the start and end in ``text`` of what it came from.

    Each character is normalised together with the combining marks that follow it (the unit NFKC
    composes), so an expansion (``ﬃ`` → ``ffi``) maps all its letters to the one character and a
    composition (E + U+0301 → ``É``) maps to both.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.category(text[j]) in _MARKS:
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def _phrases(items: Iterable[str]) -> list[tuple[str, ...]]:
    return sorted({tuple(p.split()) for p in items}, key=len, reverse=True)


def _phrase_index(fault_words: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """The fault words of more than one token, as :func:`tokenize_spans` splits them, by their first token."""
    index: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for w in fault_words:
        phrase = tuple(t for t, _, _ in tokenize_spans(w))
        if len(phrase) > 1:
            index[phrase[0]].append(phrase)
    return dict(index)


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    end: int
    answer: bool = False
    """A checklist answer ("Leak: no" at "no"; "Oil leak? yes" at "?"): it ends its item, so it negates and
    hedges nothing after it."""


class NegationDetector:
    """Status (confirmed, negated, uncertain) of a finding span in a maintenance text.

    Parameters
    ----------
    pre_window, post_window
        How many tokens before / after the finding a trigger may sit (NegEx uses 5).
    fault_words
        Words that make a finding a fault, so "no <finding>" and "<finding>: No" negate it; extend
        with the ontology's defect synonyms. One of several words ("hairline crack") makes a
        finding a fault when the finding holds all its words in order.
    abbreviations
        Abbreviation → expansion (the ontology's ``abbreviations``): an abbreviation whose expansion
        is a fault, read as a finding is ("crkd: cracked", "o/l: oil leak", "hs: hot spot" where "hot
        spot" is a fault word), is a fault word too, as the text summariser finds the defect through
        the expansion while this detector reads the text as typed.
    adapted
        False gives plain NegEx behaviour (any trigger in scope counts; no pseudo-triggers,
        no repair override), kept as the benchmark's baseline.

    Examples
    --------
    >>> det = NegationDetector()
    >>> det.status("no leak found at pump", (3, 7))
    'negated'
    >>> det.status("check for crack on boom", (10, 15))
    'uncertain'
    >>> det.status("engine will not start", (7, 21))
    'confirmed'
    """

    def __init__(
        self,
        *,
        pre_window: int = 6,
        post_window: int = 4,
        fault_words: Iterable[str] = FAULT_WORDS,
        abbreviations: Mapping[str, str] | None = None,
        adapted: bool = True,
    ) -> None:
        self.adapted = adapted
        self.pre_window = pre_window
        self.post_window = post_window
        # NFKC, then lower-case, as the text's tokens are (a full-width or NFD fault word matches its plain form)
        self.fault_words = frozenset(abbreviation_key(w) for w in fault_words)
        self._fault_phrases = _phrase_index(self.fault_words)
        if abbreviations:
            faulty = set()
            for short, expansion in abbreviations.items():
                words = [t for t, _, _ in tokenize_spans(expansion)]
                if words and self._is_fault(words, 0, len(words)):
                    faulty.add(abbreviation_key(short))
            self.fault_words |= faulty
            self._fault_phrases = _phrase_index(self.fault_words)
        self._memo: tuple[str, list[tuple[str, int, int]], list[str], list[_Hit], frozenset[int]] | None = None
        self._table = [
            (kind, _phrases(items))
            for kind, items in (
                ("pseudo", PSEUDO if adapted else ()),
                ("repair", REPAIR),
                ("post_neg", POST_NEG),
                ("post_hedge", POST_HEDGE if adapted else ()),
                ("pre_neg", PRE_NEG),
                ("not", NOT),
                ("request", REQUEST),
                ("hedge", HEDGE),
                ("terminate", TERMINATE),
            )
        ]

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the memo of the last text read: a saved model holds no log text."""
        return {**self.__dict__, "_memo": None}

    def _hits(self, words: list[str], breaks: frozenset[int] = frozenset()) -> list[_Hit]:
        """Trigger phrases in the words: kinds in table order, longer phrases first, a word used once.

        Candidate positions come from an index of where each word occurs, so a long text costs
        one pass per phrase's matches instead of one per phrase and word. ``breaks``: positions
        of the words that begin a line.
        """
        hits: list[_Hit] = []
        used = [False] * len(words)
        where: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(words):
            where[w].append(i)
            if len(w) > 3 and w.endswith("n't"):  # "isn't", "doesn't", "wasn't": one token each
                where["n't"].append(i)
        for kind, phrases in self._table:
            for phrase in phrases:
                n = len(phrase)
                for i in where.get(phrase[0], ()):
                    same = phrase == ("n't",) or tuple(words[i : i + n]) == phrase
                    if same and not any(used[i : i + n]):
                        nxt = words[i + n] if i + n < len(words) else ""
                        if phrase == ("no", ".") and not _numeral(nxt):
                            continue  # "Leak: No." is an answer and its full stop ends the clause
                        after = words[i + 2] if i + 2 < len(words) else ""
                        numbered = self.adapted and phrase == ("no",) and (
                            _numeral(nxt) or (nxt in (".", "-") and _numeral(after))
                        )
                        answer = self.adapted and _is_answer(words, i, kind, breaks)
                        hits.append(_Hit("pseudo" if numbered else kind, i, i + n, answer))
                        for j in range(i, i + n):
                            used[j] = True
        return sorted(hits, key=lambda h: h.start)

    def status_tokens(self, words: list[str], start: int, end: int) -> Status:
        """Status of the finding covering token positions ``start:end`` (words as :func:`tokenize_spans` gives them)."""
        if not words or not 0 <= start < end <= len(words):
            return "confirmed"
        return self._status(words, self._hits(words), start, end)

    def _status(self, words: list[str], hits: list[_Hit], start: int, end: int,
                breaks: frozenset[int] = frozenset()) -> Status:
        inside = [h for h in hits if h.start >= start and h.end <= end]
        if any(h.kind == "hedge" for h in inside):
            return "uncertain"
        if not self.adapted and any(h.kind in ("pre_neg", "not") for h in inside):
            return "negated"
        # a negating phrase that swallows the start of the finding ("not required")
        if any(h.kind in ("post_neg", "not") and h.start < start < h.end for h in hits):
            return "negated"
        is_fault = not self.adapted or self._is_fault(words, start, end)
        if self.adapted and is_fault and _answered_no(words, end, breaks):  # "Leak: No", "Oil leak? nil"
            return "negated"
        before = [h for h in hits if h.end <= start]
        after = [h for h in hits if h.start >= end]
        # clause boundaries: the nearest terminators on each side; a line break ends a sentence too (NegEx
        # scopes a trigger within its sentence, and a log's lines are its sentences)
        left = max((h.end for h in before if h.kind == "terminate"), default=0)
        right = min((h.start for h in after if h.kind == "terminate" and words[h.start] != "?"), default=len(words))
        left = max(left, max((b for b in breaks if b <= start), default=0))
        right = min(right, min((b for b in breaks if b >= end), default=len(words)))
        clause = [h for h in hits if left <= h.start and h.end <= right]
        for h in reversed(before):
            if h.start < left or start - h.end > self.pre_window or h.answer:
                continue
            pre_neg = h.kind == "pre_neg" or (h.kind == "post_neg" and " ".join(words[h.start : h.end]) in PRE_NEG)
            if pre_neg and is_fault:
                return "negated"
            if h.kind == "not" and (h.end == start or not self.adapted):
                return "negated"
        for h in after:
            if h.end > right or h.start - end > self.post_window:
                continue
            if h.kind == "post_neg" and not any(x.kind == "repair" for x in clause if x.start >= end):
                return "negated"
        if any(h.kind == "hedge" and words[h.start] == "?" and not h.answer for h in hits
               if not _found_between(words, h, start, end, breaks)):
            return "uncertain"
        repaired = self.adapted and any(h.kind == "repair" for h in clause)
        for h in before:
            if h.start < left or start - h.end > self.pre_window or h.answer:
                continue
            if h.kind == "hedge" or (h.kind == "request" and not repaired):
                return "uncertain"
        for h in after:
            if h.end > right or h.start - end > self.post_window:
                continue
            if h.kind == "post_hedge" or (
                h.kind == "request" and " ".join(words[h.start : h.end]) in POST_REQUEST and not repaired
            ):
                return "uncertain"
        return "confirmed"

    def _is_fault(self, words: list[str], start: int, end: int) -> bool:
        """Does the finding ``words[start:end]`` hold a fault word, or all words of a multi-word one in order?

        A slash-joined word counts whole ("u/s", "o/l") and so does each word of it ("cuts/damage: N",
        "no leaks/cracks"), and so does the plural of a fault word (:func:`~assetgrade.ontology.singular_forms`:
        "no fractures", "no damages"), as the text summariser finds the defect through its singular; a fault
        word of several words ("hairline crack", "hot spot", an ontology synonym) counts only as its whole
        sequence, its last word also in the plural ("no hot spots", as the summariser reads the head word), so
        neither "hot" nor "spot" alone is the fault "hot spot".
        """
        fault = self.fault_words
        if any(p in fault or any(s in fault for s in singular_forms(p))
               for w in words[start:end] for p in ((w, *w.split("/")) if "/" in w else (w,))):
            return True
        index = self.__dict__.get("_fault_phrases")
        if index is None:  # a detector pickled before multi-word fault words were matched
            index = self._fault_phrases = _phrase_index(self.fault_words)
        for i in range(start, end):
            for phrase in index.get(words[i], ()):
                j = i + len(phrase)
                if j <= end and tuple(words[i : j - 1]) == phrase[:-1] and (
                    words[j - 1] == phrase[-1] or phrase[-1] in singular_forms(words[j - 1])
                ):
                    return True
        return False

    def status(self, text: str, span: tuple[int, int]) -> Status:
        """Status of the finding at character ``span`` (start, end) of ``text``."""
        # the findings of one text are asked about one after another: tokenise it once (a detector
        # pickled before this memo existed has no attribute)
        memo = getattr(self, "_memo", None)
        if memo is None or memo[0] != text or len(memo) != 5:
            toks = tokenize_spans(text)
            words = [t for t, _, _ in toks]
            breaks = frozenset(i for i in range(1, len(toks)) if _LINE_BREAK.search(text, toks[i - 1][2], toks[i][1]))
            memo = self._memo = (text, toks, words, self._hits(words, breaks), breaks)
        _, toks, words, hits, breaks = memo
        idx = [i for i, (_, s, e) in enumerate(toks) if s < span[1] and e > span[0]]
        if not idx:
            return "confirmed"
        return self._status(words, hits, idx[0], idx[-1] + 1, breaks)


def _found_between(words: list[str], h: _Hit, start: int, end: int, breaks: frozenset[int] = frozenset()) -> bool:
    """True when a "?" is separated from the finding by "found", a full stop or a line break (its own clause)."""
    lo, hi = (h.end, start) if h.end <= start else (end, h.start)
    return any(w in ("found", ".") for w in words[lo:hi]) or any(lo <= b <= hi for b in breaks)


def _numeral(word: str) -> bool:
    """A number after "no" ("No 4", "No. 3", "NO #2"): the word starts with a digit or is "#"."""
    return word[:1].isdigit() or word == "#"


_NEGATIVE = _phrases(CHECKLIST_NEGATIVE)
_ANSWERS = _phrases((*CHECKLIST_NEGATIVE, *CHECKLIST_POSITIVE))


def _answer(words: list[str], i: int, breaks: frozenset[int], answers: list[tuple[str, ...]]) -> int:
    """Length of a checklist answer at word ``i`` that ends its item, or 0.

    The item ends at the text's end, a line break, a punctuation mark (a full stop that starts a
    number, "no. 3", does not count) or the next item's label: up to three words, then ":" or "=".
    """
    for phrase in answers:
        j = i + len(phrase)
        if tuple(words[i:j]) != phrase:
            continue
        if j >= len(words) or j in breaks:
            return len(phrase)
        if words[j] in CHECKLIST_ITEM_END:
            if words[j] == "." and j + 1 < len(words) and _numeral(words[j + 1]) and j + 1 not in breaks:
                continue
            return len(phrase)
        k = j
        while k < len(words) and k - j < 3 and words[k][:1].isalnum() and (k == j or k not in breaks):
            k += 1
        if j < k < len(words) and words[k] in (":", "=") and k not in breaks:
            return len(phrase)
    return 0


def _after_label(words: list[str], end: int) -> int:
    """Position of the answer after an item's label ending at ``end`` ("Leak: no", "Leak (Y/N) - N"), else -1."""
    i = end
    if i < len(words) and words[i] == "(":  # "(y/n)", "(yes/no)": the answer's form
        close = next((k for k in range(i + 1, min(i + 4, len(words))) if words[k] == ")"), None)
        if close is None:
            return -1
        i = close + 1
    first = i
    while i < len(words) and words[i] in CHECKLIST_SEPARATORS and i - first < 3:
        i += 1
    return i if i > first else -1


def _answered_no(words: list[str], end: int, breaks: frozenset[int]) -> bool:
    """Is the finding ending at word ``end`` a checklist item answered no ("Leak: No", "Crack - nil")?"""
    i = _after_label(words, end)
    return i >= 0 and _answer(words, i, breaks, _NEGATIVE) > 0


def _is_answer(words: list[str], i: int, kind: str, breaks: frozenset[int]) -> bool:
    """Is the trigger at word ``i`` a checklist answer (a negation after a label and separator, ending its
    item) or a "?" that an answer follows ("Oil leak? yes")?"""
    if words[i] == "?":
        j = _after_label(words, i)
        return j >= 0 and _answer(words, j, breaks, _ANSWERS) > 0
    if kind not in ("pre_neg", "post_neg", "not") or i < 2 or words[i - 1] not in CHECKLIST_SEPARATORS:
        return False
    return _answer(words, i, breaks, _NEGATIVE) > 0
