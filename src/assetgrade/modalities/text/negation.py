"""Negation and uncertainty of findings in maintenance texts: a NegEx-style scoped-trigger method.

NegEx (Chapman et al. 2001, J Biomed Inform 34:301) marks a finding negated when a trigger
phrase ("no", "denies") lies within a few words before or after it and no scope terminator
intervenes. Maintenance text needs three changes, measured on real work orders:

* "no"/"not" usually *describe* a failure ("no start", "will not run", "no power"):
  a pre-negation trigger negates a finding only when the finding is a fault word (``no
  leak``, ``nil cracks``) or the trigger is directly before it (``not required``); a
  trigger inside the finding's own span is part of the finding.
* Uncertainty has two kinds: *requests* (check, inspect, investigate, diagnose, test...)
  and *hedges* (possible, suspect, appears, "?"). A repair action in the same clause
  ("investigate / repair oil leak") means the fault was found: requests yield to it,
  hedges do not.
* Component names that contain trigger words ("check valve", "test point") are pseudo-triggers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["FAULT_WORDS", "NegationDetector", "Status", "tokenize_spans"]

Status = Literal["confirmed", "negated", "uncertain"]

_TOKEN = re.compile(r"\w+(?:['/-]\w+)*|[^\w\s]")

FAULT_WORDS = frozenset(
    [
        "leak",
        "leaks",
        "leaking",
        "leaky",
        "crack",
        "cracks",
        "cracked",
        "cracking",
        "damage",
        "damaged",
        "dmgd",
        "fault",
        "faults",
        "faulty",
        "failure",
        "failed",
        "fail",
        "defect",
        "defects",
        "problem",
        "problems",
        "issue",
        "issues",
        "broken",
        "worn",
        "wear",
        "noise",
        "noisy",
        "corrosion",
        "corroded",
        "rust",
        "rusted",
        "loose",
        "missing",
        "blown",
        "bent",
        "seized",
        "vibration",
        "overheating",
        "contamination",
        "error",
        "alarm",
        "play",
        "movement",
        "dent",
        "dented",
        "scratch",
        "scratches",
        "hole",
        "holes",
        "split",
        "torn",
    ]
)

_PRE_NEG = (
    "no",
    "nil",
    "without",
    "free of",
    "no sign of",
    "no signs of",
    "no evidence of",
    "none",
    "zero",
    "negative for",
    # the technician looked and found nothing: "could not find leak" is not "leak"
    "unable to find",
    "not able to find",
    "could not find",
    "couldn't find",
    "cannot find",
    "can't find",
    "did not find",
    "didn't find",
    "unable to locate",
    "could not locate",
    "couldn't locate",
)
_NOT = ("not", "n't", "never")
_POST_NEG = (
    "ok",
    "okay",
    "not found",
    "nil",
    "none found",
    "nothing found",
    "no fault found",
    "nff",
    "good",
    "fine",
    "serviceable",
    "within limits",
    "not present",
    "not required",
    "checked ok",
    "checked okay",
    "checked - ok",  # the dash would otherwise end the clause before "ok"
    "checked - okay",
    "inspected ok",
    "inspected - ok",
    "ruled out",
    "not evident",
    "not seen",
    "not detected",
    "not visible",
    "not observed",
    "not apparent",
)
_POST_HEDGE = ("not confirmed", "unconfirmed", "to be confirmed", "tbc", "not verified")
"""After a finding: it was reported but not yet established ("leak (not confirmed)")."""
_REQUEST = (
    "check",
    "check for",
    "check out",
    "checkout",
    "inspect",
    "inspect for",
    "inspection",
    "investigate",
    "diagnose",
    "test",
    "trace",
    "troubleshoot",
    "audit",
    "report of",
    "reported",
    "assess",
    "to be checked",
    "query",
)
_HEDGE = (
    "possible",
    "possibly",
    "suspect",
    "suspects",
    "suspected",
    "may",
    "might",
    "maybe",
    "potential",
    "probable",
    "probably",
    "appears",
    "appear",
    "seems",
    "seem",
    "likely",
    "unknown",
    "?",
)
_POST_REQUEST = ("inspection", "test", "to be checked", "check", "checks")
_REPAIR = (
    "repair",
    "replace",
    "rectify",
    "fix",
    "change out",
    "changeout",
    "c/out",
    "c/o",
    "repl",
    "fit new",
    "needs replacing",
    "requires replacing",
    "replaced",
    "repaired",
    "fitted",
)
_PSEUDO = (
    "check valve",
    "test point",
    "test points",
    "test port",
    "test ports",
    "test fitting",
    "inspection plate",
    "inspection cover",
    "inspection hatch",
    "no .",
    "not only",
)
_TERMINATE = (".", ";", ",", "-", "found", "but", "however", "although", "then", "after")


def tokenize_spans(text: str) -> list[tuple[str, int, int]]:
    """Lower-cased word and punctuation tokens with their character offsets.

    >>> tokenize_spans("No leak, L/H.")
    [('no', 0, 2), ('leak', 3, 7), (',', 7, 8), ('l/h', 9, 12), ('.', 12, 13)]
    """
    # a typographic apostrophe (``isn’t`` from phones and word processors) reads as ``'``; same length
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text.replace("\u2019", "'"))]


def _phrases(items: Iterable[str]) -> list[tuple[str, ...]]:
    return sorted({tuple(p.split()) for p in items}, key=len, reverse=True)


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    end: int


class NegationDetector:
    """Status (confirmed, negated, uncertain) of a finding span in a maintenance text.

    Parameters
    ----------
    pre_window, post_window
        How many tokens before / after the finding a trigger may sit (NegEx uses 5).
    fault_words
        Words that make a finding a fault, so "no <finding>" negates it; extend with the
        ontology's defect synonyms.
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
        adapted: bool = True,
    ) -> None:
        self.adapted = adapted
        self.pre_window = pre_window
        self.post_window = post_window
        self.fault_words = frozenset(w.lower() for w in fault_words)
        self._memo: tuple[str, list[tuple[str, int, int]], list[str], list[_Hit]] | None = None
        self._table = [
            (kind, _phrases(items))
            for kind, items in (
                ("pseudo", _PSEUDO if adapted else ()),
                ("repair", _REPAIR),
                ("post_neg", _POST_NEG),
                ("post_hedge", _POST_HEDGE if adapted else ()),
                ("pre_neg", _PRE_NEG),
                ("not", _NOT),
                ("request", _REQUEST),
                ("hedge", _HEDGE),
                ("terminate", _TERMINATE),
            )
        ]

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the memo of the last text read: a saved model holds no log text."""
        return {**self.__dict__, "_memo": None}

    def _hits(self, words: list[str]) -> list[_Hit]:
        """Trigger phrases in the words: kinds in table order, longer phrases first, a word used once.

        Candidate positions come from an index of where each word occurs, so a long text costs
        one pass per phrase's matches instead of one per phrase and word.
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
                        numbered = self.adapted and phrase == ("no",) and (nxt[:1].isdigit() or nxt in ("#", ".", "-"))
                        hits.append(_Hit("pseudo" if numbered else kind, i, i + n))
                        for j in range(i, i + n):
                            used[j] = True
        return sorted(hits, key=lambda h: h.start)

    def status_tokens(self, words: list[str], start: int, end: int) -> Status:
        """Status of the finding covering token positions ``start:end`` (lower-cased words)."""
        if not words or not 0 <= start < end <= len(words):
            return "confirmed"
        return self._status(words, self._hits(words), start, end)

    def _status(self, words: list[str], hits: list[_Hit], start: int, end: int) -> Status:
        inside = [h for h in hits if h.start >= start and h.end <= end]
        if any(h.kind == "hedge" for h in inside):
            return "uncertain"
        if not self.adapted and any(h.kind in ("pre_neg", "not") for h in inside):
            return "negated"
        # a negating phrase that swallows the start of the finding ("not required")
        if any(h.kind in ("post_neg", "not") and h.start < start < h.end for h in hits):
            return "negated"
        is_fault = not self.adapted or any(w in self.fault_words for w in words[start:end])
        before = [h for h in hits if h.end <= start]
        after = [h for h in hits if h.start >= end]
        # clause boundaries: the nearest terminators on each side
        left = max((h.end for h in before if h.kind == "terminate"), default=0)
        right = min((h.start for h in after if h.kind == "terminate" and words[h.start] != "?"), default=len(words))
        clause = [h for h in hits if left <= h.start and h.end <= right]
        for h in reversed(before):
            if h.start < left or start - h.end > self.pre_window:
                continue
            pre_neg = h.kind == "pre_neg" or (h.kind == "post_neg" and " ".join(words[h.start : h.end]) in _PRE_NEG)
            if pre_neg and is_fault:
                return "negated"
            if h.kind == "not" and (h.end == start or not self.adapted):
                return "negated"
        for h in after:
            if h.end > right or h.start - end > self.post_window:
                continue
            if h.kind == "post_neg" and not any(x.kind == "repair" for x in clause if x.start >= end):
                return "negated"
        if any(h.kind == "hedge" and words[h.start] == "?" for h in hits if not _found_between(words, h, start, end)):
            return "uncertain"
        repaired = self.adapted and any(h.kind == "repair" for h in clause)
        for h in before:
            if h.start < left or start - h.end > self.pre_window:
                continue
            if h.kind == "hedge" or (h.kind == "request" and not repaired):
                return "uncertain"
        for h in after:
            if h.end > right or h.start - end > self.post_window:
                continue
            if h.kind == "post_hedge" or (
                h.kind == "request" and " ".join(words[h.start : h.end]) in _POST_REQUEST and not repaired
            ):
                return "uncertain"
        return "confirmed"

    def status(self, text: str, span: tuple[int, int]) -> Status:
        """Status of the finding at character ``span`` (start, end) of ``text``."""
        # the findings of one text are asked about one after another: tokenise it once (a detector
        # pickled before this memo existed has no attribute)
        memo = getattr(self, "_memo", None)
        if memo is None or memo[0] != text:
            toks = tokenize_spans(text)
            words = [t for t, _, _ in toks]
            memo = self._memo = (text, toks, words, self._hits(words))
        _, toks, words, hits = memo
        idx = [i for i, (_, s, e) in enumerate(toks) if s < span[1] and e > span[0]]
        if not idx:
            return "confirmed"
        return self._status(words, hits, idx[0], idx[-1] + 1)


def _found_between(words: list[str], h: _Hit, start: int, end: int) -> bool:
    """True when a "?" is separated from the finding by "found" or a full stop (its own clause)."""
    lo, hi = (h.end, start) if h.end <= start else (end, h.start)
    return any(w in ("found", ".") for w in words[lo:hi])
