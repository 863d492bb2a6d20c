"""Asset-level summary of maintenance logs: failure modes, repairs, recurring faults, time and cost.

Each log entry is tokenised, its tokens expanded (a trained :class:`.Normalizer`, else the
ontology's abbreviation list), and word n-grams (3 down to 1) are looked up in the ontology:
defect mentions become findings with a character span, the nearest component mention and a
status from :class:`.NegationDetector`. Per asset the summary gives a fixed-width block of
features (names in :attr:`LogSummarizer.feature_names`) and the findings.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import Finding
from assetgrade.modalities.text.clean import CleanText, clean_entry, clean_text
from assetgrade.modalities.text.linking import singular_forms
from assetgrade.modalities.text.negation import FAULT_WORDS, NegationDetector
from assetgrade.modalities.text.normalize import Normalizer, abbreviation_key, abbreviation_table
from assetgrade.ontology import Ontology, TermMatch, normalise_term
from assetgrade.store.records import LogEntry

__all__ = ["AssetSummary", "LogSummarizer", "check_limits", "clean_text"]

_WORD = re.compile("[^\\s\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\ufe0e\ufe0f\U0001f000-\U0001faff]+")
"""A token: a run of characters other than spaces, arrows and pictographs ("hose👍leaking", "leak→replaced")."""
_STRIP = ".,;:!?()[]{}\"'*&"
_JOIN = re.compile(r"(?<=[^\W\d_]{2})&(?=[^\W\d_]{2})")
"""An ampersand between two words ("crack&leak", "PINS&BUSHES", as MaintNorm's gold splits them): a word
boundary; "R&R", "P&H" and "1&2" stay one token."""
_REPLACE = re.compile(
    r"\b(replace[ds]?|replacing|repl|rplc|c/o|c/out|change ?out|changeout|swap(ped)?|fit new|new)\b", re.I
)
_REPAIR = re.compile(r"\b(repair(ed|s)?|rep|rectify|rectified|fix(ed)?|weld(ed)?|reseal|re-?seal|adjust(ed)?)\b", re.I)
_INSPECT = re.compile(r"\b(inspect(ion)?|check|investigate|diagnose|test|troubleshoot)\b", re.I)
_NOT_BEFORE = re.compile(r"(?:\b(?:not|no|never|nothing|without)|n't)(?:\s+(?:yet|been|be|being))*\s+$", re.I)
_NOT_AFTER = re.compile(r"\s+(?:is\s+|was\s+)?not\s+(?:required|needed|necessary|done|completed|carried\s+out)\b", re.I)
"""An action that did not happen: "not replaced", "did not replace", "no repair required", "repair not needed"."""
_NEXT_WORDS = re.compile(r"\W+(\w+)(?:\s+(\w+))?")
_FAULT_ONLY = FAULT_WORDS - {"noise", "noisy", "leak", "leaks", "leaking", "crack", "cracks", "cracked"}


def _spans(text: str) -> list[tuple[str, int, int]]:
    """Whitespace tokens of a cleaned text, split at an ampersand joining two words, outer punctuation
    stripped, with their character spans.

    >>> _spans("crack&leak, tip& R&R")
    [('crack', 0, 5), ('leak', 6, 10), ('tip', 12, 15), ('R&R', 17, 20)]
    """
    spans = []
    for m in _WORD.finditer(text):
        at = m.start()
        for raw in _JOIN.split(m.group(0)):
            lead = len(raw) - len(raw.lstrip(_STRIP))
            trail = len(raw.rstrip(_STRIP))
            if trail > lead:
                spans.append((raw[lead:trail], at + lead, at + trail))
            at += len(raw) + 1
    return spans


def _acted(action: re.Pattern[str], text: str) -> bool:
    """Does the text name the action as done: a match not negated ("not replaced, still leaking")?

    >>> _acted(_REPLACE, "not replaced, still leaking"), _acted(_REPLACE, "no leak, replaced hose")
    (False, True)
    >>> _acted(_REPLACE, "new leak on boom"), _acted(_REPLACE, "new hose fitted")
    (False, True)
    """
    return any(
        not _NOT_BEFORE.search(text, max(0, m.start() - 40), m.start()) and not _NOT_AFTER.match(text, m.end())
        and not (m.group().lower() == "new" and _new_fault(text, m.end()))
        for m in action.finditer(text)
    )


def _new_fault(text: str, end: int) -> bool:
    """Is a "new" at ``end`` followed by a fault within two words ("new leak", "new oil leak"): a fault, no part?"""
    nxt = _NEXT_WORDS.match(text, end)
    return nxt is not None and any((w or "").lower() in FAULT_WORDS for w in nxt.groups())


def check_limits(max_chars: object, recurrence_window_days: object, owner: str) -> None:
    """``max_chars`` a whole number >= 1 and ``recurrence_window_days`` a finite number >= 0 (settings files set them).

    >>> check_limits(-5, 90, "TextExtractor")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: TextExtractor.max_chars: -5; a whole number of characters >= 1
    """
    if not isinstance(max_chars, numbers.Integral) or isinstance(max_chars, bool) or max_chars < 1:
        raise ValidationError(f"{max_chars!r}; a whole number of characters >= 1", where=f"{owner}.max_chars")
    days = recurrence_window_days
    if not isinstance(days, numbers.Real) or isinstance(days, bool) or not math.isfinite(days) or days < 0:
        raise ValidationError(f"{days!r}; a number of days >= 0", where=f"{owner}.recurrence_window_days")


def _utc(when: datetime) -> datetime:
    """A date as UTC-aware (a naive one is taken as UTC), so naive and aware dates of one asset compare."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class AssetSummary:
    """One asset's features (by name), findings and quality flags."""

    features: dict[str, float]
    findings: list[Finding] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


class LogSummarizer:
    """Turn an asset's log entries into failure-mode counts, history features and findings.

    Parameters
    ----------
    ontology
        Defects, components and abbreviations to read the logs with.
    normalizer
        A fitted MaintNorm-style normaliser; None expands with ``ontology.abbreviations`` only.
    recurrence_window_days
        Two confirmed faults on the same component with the same failure mode within this
        many days count as a recurrence.
    max_chars
        Longer entries are cut (flagged ``truncated``) so one pasted document cannot stall a batch.

    Examples
    --------
    >>> from assetgrade.ontology import default_ontology
    >>> s = LogSummarizer(default_ontology()).summarize([LogEntry("e1", "L/H BUCKET CYL LEAKING", cost=400.0)])
    >>> s.features["fm_leak"], s.features["total_cost"], s.findings[0].component
    (1.0, 400.0, 'hydraulic_cylinder')
    """

    def __init__(
        self,
        ontology: Ontology,
        *,
        normalizer: Normalizer | None = None,
        negation: NegationDetector | None = None,
        recurrence_window_days: float = 90.0,
        max_chars: int = 5000,
    ) -> None:
        check_limits(max_chars, recurrence_window_days, "LogSummarizer")
        self.ontology = ontology
        self.normalizer = normalizer
        self.negation = negation or NegationDetector(
            # NFKC, then lower-case, like the abbreviations: a full-width or NFD synonym was no fault word
            fault_words=FAULT_WORDS | {abbreviation_key(w) for d in ontology.defects.values()
                                       for w in (d.name, *d.synonyms)},
            # "crkd: cracked": the findings come from the expansion, the status from the text as typed
            abbreviations=ontology.abbreviations,
        )
        self.recurrence_window_days = recurrence_window_days
        self.max_chars = max_chars
        self.roots = sorted({self._root(d) for d in ontology.defects})

    def _root(self, defect_id: str) -> str:
        chain = (defect_id, *self.ontology.ancestors(defect_id))
        return chain[-1]

    @property
    def feature_names(self) -> tuple[str, ...]:
        base = (
            "n_entries",
            "span_years",
            "entries_per_year",
            "total_cost",
            "mean_cost",
            "max_cost",
            "n_repairs",
            "n_replacements",
            "n_inspections",
            "days_since_last_repair",
            "days_since_last_entry",
            "n_confirmed",
            "n_uncertain",
            "n_negated",
            "n_recurring",
            "n_recurring_components",
            "frac_entries_with_fault",
        )
        return base + tuple(f"fm_{r}" for r in self.roots) + ("fm_unlinked_fault",)

    def _expand(self, texts: list[list[str]]) -> list[list[str]]:
        """Expanded words of many entries: one normaliser batch per asset, not one call per entry."""
        if self.normalizer is not None:
            batch = getattr(self.normalizer, "normalize_batch", None)
            # the ranker costs ~0.1 s a call whatever its size: 300 entries took 48 s one by one
            outs = batch(texts) if callable(batch) else [self.normalizer.normalize_tokens(ws) for ws in texts]
            return [[o.lower() for o in out] for out in outs]
        abbr = abbreviation_table(self.ontology.abbreviations)  # NFD and full-width tokens find theirs too
        return [[abbr.get(abbreviation_key(w), w.lower()) for w in words] for words in texts]

    def entry_findings(self, entry: LogEntry) -> tuple[list[Finding], list[str]]:
        """Defect findings in one entry (with spans and status) and its quality flags."""
        cleaned = clean_entry(entry.text, self.max_chars)
        spans = _spans(cleaned.text)
        return self._findings(entry, cleaned, spans, self._expand([[w for w, _, _ in spans]])[0]), cleaned.flags

    def _lookup(self, words: list[str]) -> TermMatch | None:
        """The ontology term these words name, also with the last (head) word in the singular:
        "cracks" finds Crack, "hydraulic hoses" the hose, where only the singular is listed."""
        hit = self.ontology.lookup(" ".join(words))
        for form in singular_forms(words[-1]) if hit is None else ():
            hit = self.ontology.lookup(" ".join([*words[:-1], form]))
            if hit is not None:
                break
        return hit

    def _findings(self, entry: LogEntry, cleaned: CleanText, spans: list[tuple[str, int, int]],
                  expanded: list[str]) -> list[Finding]:
        """Defect findings of one cleaned entry text, its raw tokens (with spans) and their expansions.

        Statuses are read from the cleaned text; each finding's span is the stored text's (before
        references were decoded), its summary the cleaned words.
        """
        if not spans:
            return []
        text = cleaned.text
        # each expanded word keeps the character span of the raw token it came from
        words: list[tuple[str, int, int]] = []
        for (_, s, e), exp in zip(spans, expanded, strict=True):
            words.extend((w, s, e) for w in normalise_term(exp).split())
        mentions: list[tuple[str, str, int, int, int]] = []  # kind, id, first word, char start, char end
        used = [False] * len(words)
        for n in (3, 2, 1):
            for i in range(len(words) - n + 1):
                if any(used[i : i + n]):
                    continue
                hit = self._lookup([w for w, _, _ in words[i : i + n]])
                if hit is None and n == 1 and words[i][0] in _FAULT_ONLY:
                    mentions.append(("fault", "", i, words[i][1], words[i][2]))
                    used[i] = True
                    continue
                if hit is not None:
                    mentions.append((hit.kind, hit.id, i, words[i][1], words[i + n - 1][2]))
                    for j in range(i, i + n):
                        used[j] = True
        comps = [(i, mid) for kind, mid, i, _, _ in mentions if kind == "component"]
        findings = []
        for kind, mid, i, s, e in mentions:
            if kind == "component":
                continue
            comp = min(comps, key=lambda c: (abs(c[0] - i), c[0] > i))[1] if comps else None
            status = self.negation.status(text, (s, e))
            findings.append(
                Finding(
                    modality="text",
                    summary=text[s:e],
                    defect=mid or None,
                    component=comp,
                    confidence=1.0 if kind == "defect" else 0.6,
                    status=status,
                    evidence_id=entry.evidence_id,
                    span=cleaned.source_span(s, e),
                )
            )
        return findings

    def summarize(self, entries: Sequence[LogEntry], as_of: datetime | None = None) -> AssetSummary:
        """Features, findings and flags of one asset's log entries."""
        f = dict.fromkeys(self.feature_names, 0.0)
        findings: list[Finding] = []
        flags: list[str] = []
        dated = {id(e): _utc(e.date) for e in entries if e.date is not None}
        dates = list(dated.values())
        ref = _utc(as_of) if as_of is not None else (max(dates) if dates else None)
        # a date after the assessment (as_of, else now) is a typo or a planned order: flagged, not dropped
        now = _utc(as_of) if as_of is not None else datetime.now(UTC)
        flags.extend(f"future_date:{e.evidence_id}" for e in entries if id(e) in dated and dated[id(e)] > now)
        costs = [e.cost for e in entries if e.cost is not None and math.isfinite(e.cost)]
        last_repair: datetime | None = None
        faulty_entries = 0
        events: dict[tuple[str, str], list[datetime]] = defaultdict(list)
        cleaned = [clean_entry(e.text, self.max_chars) for e in entries]
        spans = [_spans(c.text) for c in cleaned]
        expanded = self._expand([[w for w, _, _ in sp] for sp in spans])
        for e, clean, sp, exp in zip(entries, cleaned, spans, expanded, strict=True):
            found = self._findings(e, clean, sp, exp)
            text = clean.text
            flags.extend(f"{x}:{e.evidence_id}" for x in clean.flags)
            findings.extend(found)
            # actions are read from the cleaned text the findings come from: bytes decoded, cut to max_chars
            rep, fix = _acted(_REPLACE, text), _acted(_REPAIR, text)
            f["n_replacements"] += rep
            f["n_repairs"] += fix and not rep
            f["n_inspections"] += _acted(_INSPECT, text) and not (rep or fix)
            date = dated.get(id(e))
            if (rep or fix) and date is not None and (last_repair is None or date > last_repair):
                last_repair = date
            confirmed = [x for x in found if x.status == "confirmed"]
            faulty_entries += bool(confirmed)
            for x in confirmed:
                key = self._root(x.defect) if x.defect else "unlinked_fault"
                f[f"fm_{key}"] += 1
                if date is not None:
                    events[(x.component or "?", key)].append(date)
        for x in findings:
            f[f"n_{x.status}"] += 1
        recurring_components = set()
        for (comp, _), when in events.items():
            when = sorted(set(when))
            # elapsed time, not whole days: timedelta.days floors, so 90.5 days counted as within 90
            window = self.recurrence_window_days * 86400.0
            hits = sum((b - a).total_seconds() <= window for a, b in itertools.pairwise(when))
            f["n_recurring"] += hits
            if hits:
                recurring_components.add(comp)
        f["n_recurring_components"] = float(len(recurring_components))
        f["n_entries"] = float(len(entries))
        span = (max(dates) - min(dates)).days / 365.25 if dates else 0.0
        f["span_years"] = span
        f["entries_per_year"] = len(entries) / max(span, 1.0)
        f["total_cost"] = float(sum(costs))
        f["mean_cost"] = float(sum(costs) / len(costs)) if costs else math.nan
        f["max_cost"] = float(max(costs)) if costs else math.nan
        f["days_since_last_repair"] = float((ref - last_repair).days) if ref and last_repair else math.nan
        f["days_since_last_entry"] = float((ref - max(dates)).days) if ref and dates else math.nan
        f["frac_entries_with_fault"] = faulty_entries / max(1, len(entries))
        return AssetSummary(f, findings, flags)

    def failure_modes(self, summary: AssetSummary) -> Counter[str]:
        """Confirmed failure modes of a summary by ontology class (non-zero ``fm_`` features)."""
        return Counter({k[3:]: int(v) for k, v in summary.features.items() if k.startswith("fm_") and v > 0})
