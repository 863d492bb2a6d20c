"""Normalisation candidates for a token never seen in training: masks, splits and vocabulary look-alikes.

Candidates come from rules (MaintNorm's masks ``<id>``/``<num>``/``<date>``, splitting
``ENG/OIL`` and ``1sparking``), from lower-casing, and from the normalised vocabulary by
truncation (``ASSEMB`` → ``assembly``), vowel-dropping abbreviation (``CRNR`` → ``corner``,
a subsequence test) and Damerau-Levenshtein edit distance ≤ 2 (``PUCHASE`` → ``purchase``),
the candidate-generation step of MoNoise (van der Goot & van Noord 2017). A non-word one edit
away from an English word (:mod:`.norm_lexicon`) gets that word too (``cieling`` → ``ceiling``);
digit runs and short all-capital tokens may be ids (``OV 433`` → ``<id> <id>``), and a trailing
dash is split off (``BT0391-`` → ``<id> -``). With the training tokens' digit shapes
(``shapes``), a token takes the normalisations its shape had (``#7`` → ``number <num>``, as
``#4`` did), a two-word form also comes hyphenated or joined when the vocabulary has it
(``Autolube`` → ``auto-lube``, ``in-line`` → ``inline``), and a truncated piece of a split
token is completed (``REPAIRS/INSPECTI`` → ``repairs / inspection``). With a noisy-channel
error model (:mod:`.norm_channel`), its most likely words join the look-alikes, including
words its learned substring edits reach (``lite`` → ``light``) when it has them.
Each candidate carries features for the learned ranker in :mod:`.normalize`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from assetgrade.modalities.text.norm_channel import ErrorModel

__all__ = ["Candidate", "CandidateGenerator", "damerau_levenshtein", "digit_shape", "is_subsequence", "mask_token"]

_NUM = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_DATE = re.compile(r"^\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?$|^\d{1,2}(?:st|nd|rd|th)$", re.IGNORECASE)
_ID = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_#.-]+$")
_NUM_WORD = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-z]{2,})$")
_WORD_NUM = re.compile(r"^([A-Za-z]{1,4})[#.]?(\d+)$")
_SPLIT = re.compile(r"([/&+])")

KINDS = ("raw", "lower", "mask", "split", "vocab", "lex", "id", "seg")
_CAPS_ID = re.compile(r"^[A-Z]{2,4}$")


def mask_token(token: str) -> str | None:
    """The MaintNorm mask for an id, number or date token, or None.

    >>> mask_token("BF079"), mask_token("42"), mask_token("16/11"), mask_token("hose")
    ('<id>', '<num>', '<date>', None)
    """
    if _NUM.match(token):
        return "<num>"
    if _DATE.match(token):
        return "<date>"
    if _ID.match(token):
        return "<id>"
    return None


def digit_shape(token: str) -> str | None:
    """The lower-cased token with every digit as ``9``, or None for a token without digits.

    >>> digit_shape("#7"), digit_shape("Pos12"), digit_shape("hose")
    ('#9', 'pos99', None)
    """
    if not any(ch.isdigit() for ch in token):
        return None
    return "".join("9" if ch.isdigit() else ch for ch in token.lower())


def damerau_levenshtein(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment edit distance, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def is_subsequence(short: str, long: str) -> bool:
    """True when ``short`` can be read off ``long`` left to right (an abbreviation)."""
    it = iter(long)
    return all(ch in it for ch in short)


@dataclass(frozen=True)
class Candidate:
    """One possible normalisation of a token and the features the ranker scores it by."""

    form: str
    kind: str
    features: tuple[float, ...]


class CandidateGenerator:
    """Candidates for unseen tokens over a normalised vocabulary with frequencies.

    Examples
    --------
    >>> gen = CandidateGenerator(Counter({"corner": 5, "purchase": 3}), lambda t: None)
    >>> sorted(c.form for c in gen.generate("CRNR"))  # a short all-capital token may also be an id
    ['<id>', 'CRNR', 'corner', 'crnr']
    >>> gen = CandidateGenerator(Counter(), lambda t: {"a/c": "air conditioner"}.get(t.lower()),
    ...                          lexicon=frozenset({"ceiling"}), known={"a/c": 3, "fan": 2})
    >>> [c.form for c in gen.generate("cieling") if c.kind == "lex"], gen.generate("A/Cfan")[-1].form
    (['ceiling'], 'air conditioner fan')
    """

    def __init__(
        self,
        vocab: Counter[str],
        lookup: Callable[[str], str | None],
        max_vocab_candidates: int = 6,
        lexicon: frozenset[str] = frozenset(),
        known: Mapping[str, int] | None = None,
        shapes: Mapping[str, Counter[str]] | None = None,
        channel: ErrorModel | None = None,
    ) -> None:
        self.vocab = vocab
        self.channel = channel
        self.shapes = shapes
        self.known = known or {}
        self.lexicon = lexicon
        self._lex_deletes = _deletion_index(lexicon)
        self.lookup = lookup
        self.max_vocab_candidates = max_vocab_candidates
        self._cache: dict[str, list[Candidate]] = {}
        words = [w for w in vocab if w.isalpha() and len(w) >= 2]
        self._char = Counter[str]()
        self._char_ctx = Counter[str]()
        for w in words:
            padded = f"^^{w.lower()}$"
            for i in range(2, len(padded)):
                self._char[padded[i - 2 : i + 1]] += 1
                self._char_ctx[padded[i - 2 : i]] += 1
        self._by_first: dict[str, list[str]] = {}
        for w in words:
            self._by_first.setdefault(w[0].lower(), []).append(w)
        self._vocab_deletes = _deletion_index.__wrapped__(frozenset(words)) if channel is not None else {}

    def _logfreq(self, form: str) -> float:
        return math.log1p(sum(self.vocab.get(w, 0) for w in form.split()))

    def char_logprob(self, word: str) -> float:
        """Mean log-probability per character under a character-trigram model of the vocabulary."""
        padded = f"^^{word.lower()}$"
        if len(padded) <= 3:
            return 0.0
        total = 0.0
        for i in range(2, len(padded)):
            tri = self._char.get(padded[i - 2 : i + 1], 0)
            ctx = self._char_ctx.get(padded[i - 2 : i], 0)
            total += math.log((tri + 0.1) / (ctx + 3.0))
        return total / (len(padded) - 2)

    def _feat(
        self, raw: str, form: str, kind: str, dist: int = 0, prefix: bool = False, subseq: bool = False,
        scored: bool = True,
    ) -> Candidate:
        low = raw.lower()
        onehot = [1.0 if kind == k else 0.0 for k in KINDS]
        in_vocab = 1.0 if form and all(w in self.vocab for w in form.split()) else 0.0
        feats = (
            *onehot,
            self._logfreq(form),
            in_vocab,
            float(dist),
            1.0 if prefix else 0.0,
            1.0 if subseq else 0.0,
            len(form) / max(1, len(raw)),
            1.0 if raw.isupper() else 0.0,
            1.0 if raw[:1].isupper() and raw[1:].islower() else 0.0,
            float(len(raw)),
            1.0 if low in self.vocab else 0.0,
            float(sum(ch in "aeiou" for ch in low)) / max(1, len(low)),
            self.char_logprob(low) if low.isalpha() else -5.0,
            1.0 if raw == low else 0.0,
            1.0 if low in self.lexicon else 0.0,
            1.0 if form and all(w in self.lexicon for w in form.split()) else 0.0,
        )
        shapes = getattr(self, "shapes", None)  # None for generators pickled before shapes
        if shapes is not None:
            seen = shapes.get(digit_shape(raw) or "", Counter())
            n = seen.get(form, 0)
            feats = (*feats, math.log1p(n), n / max(1, sum(seen.values())))
        if scored:  # the vocabulary look-alikes get theirs once the few kept are chosen
            feats = (*feats, *self._channel_features(low, form))
        if kind not in ("vocab", "lex"):
            feats = (*feats, -1.0, 0.0)
        return Candidate(form, kind, feats)

    def _channel_features(self, low: str, form: str) -> tuple[float, ...]:
        """The noisy channel's log P(token | form) over their letters, and that plus the form's log count."""
        channel: ErrorModel | None = getattr(self, "channel", None)  # None for generators pickled before it
        if channel is None:
            return ()
        letters = "".join(ch for ch in form.lower() if ch.isalpha()) if not form.startswith("<") else ""
        written = "".join(ch for ch in low if ch.isalpha())
        lp = channel.log_prob(written, letters) if letters and written else -40.0
        return lp, lp + self._logfreq(form)

    def _expand_part(self, part: str, complete: bool = False) -> str:
        if part in "/&+":
            return {"&": "and", "+": "and", "/": "/"}[part]
        known = self.lookup(part)
        if known is not None:
            return known
        m = mask_token(part)
        if m is not None:
            return m
        done = self._complete(part.lower()) if complete else None
        return done or part.lower()

    def generate(self, raw: str) -> list[Candidate]:
        """All candidates for ``raw`` (always including itself and its lower-case form); cached."""
        hit = self._cache.get(raw)
        if hit is None:
            hit = self._generate(raw)
            if len(self._cache) < 100_000:
                self._cache[raw] = hit
        return hit

    def _generate(self, raw: str) -> list[Candidate]:
        low = raw.lower()
        shapes = getattr(self, "shapes", None)
        out = {raw: self._feat(raw, raw, "raw")}
        if low != raw:
            out[low] = self._feat(raw, low, "lower")
        m = mask_token(raw)
        if m is not None:
            out[m] = self._feat(raw, m, "mask")
        nw = _NUM_WORD.match(raw)
        if nw:
            word = self.lookup(nw.group(2)) or nw.group(2).lower()
            form = f"<num> {word}"
            out[form] = self._feat(raw, form, "split")
        wn = _WORD_NUM.match(raw)
        if wn:
            word = self.lookup(wn.group(1))
            if word is not None:
                form = f"{word} <num>"
                out[form] = self._feat(raw, form, "split")
        if shapes is not None:
            for form, _ in shapes.get(digit_shape(raw) or "", Counter()).most_common(2):
                out.setdefault(form, self._feat(raw, form, "mask"))
        if _SPLIT.search(raw) and len(raw) > 1:
            self._add_split(out, raw, [p for p in _SPLIT.split(raw) if p])
        if "-" in raw.strip("-") and low not in self.vocab:
            self._add_split(out, raw, [p for p in re.split(r"(-)", raw) if p])
        if raw.endswith("-") and len(raw) > 1 and not raw.startswith("-"):
            form = f"{self._expand_part(raw[:-1])} -"
            out[form] = self._feat(raw, form, "split")
        if (raw.isdigit() and len(raw) >= 2) or _CAPS_ID.match(raw):
            out.setdefault("<id>", self._feat(raw, "<id>", "id"))
        if raw.startswith("-") and len(raw) > 1:
            self._add_split(out, raw, ["-", raw[1:]])
        if "'" in raw:
            bare = low.replace("'", "")
            out.setdefault(bare, self._feat(raw, bare, "lower"))
        if raw.isalpha() and len(raw) >= 5 and low not in self.vocab:
            best = max(
                ((low[:k], low[k:]) for k in range(2, len(low) - 1) if low[:k] in self.vocab and low[k:] in self.vocab),
                key=lambda p: self._logfreq(p[0]) + self._logfreq(p[1]),
                default=None,
            )
            if best is not None:
                form = f"{best[0]} {best[1]}"
                out[form] = self._feat(raw, form, "split")
        seg = self._segment(raw)
        if seg is not None:
            out.setdefault(seg, self._feat(raw, seg, "seg"))
        if raw.isalpha() and len(raw) >= 3:
            for c in self._vocab_candidates(low):
                out.setdefault(c.form, c)
        if raw.isalpha() and len(raw) >= 4 and low not in self.lexicon and low not in self.vocab:
            for c in self._lexicon_candidates(low):
                out.setdefault(c.form, c)
        if shapes is not None:
            for form in [c.form for c in out.values()]:
                for joined in self._compounds(form):
                    out.setdefault(joined, self._feat(raw, joined, "split"))
        cands = list(out.values())
        if getattr(self, "channel", None) is not None:  # the noisy-channel score against the token's best word
            top = max((c.features[-3] for c in cands if c.form.lower() != low), default=-40.0)
            cands = [Candidate(c.form, c.kind, (*c.features, c.features[-3] - top)) for c in cands]
        return cands

    def _add_split(self, out: dict[str, Candidate], raw: str, parts: list[str]) -> None:
        """The split form of ``raw`` (pieces expanded, dashes kept) and, with shapes, its cut-off pieces completed."""
        form = " ".join(p if p == "-" else self._expand_part(p) for p in parts)
        out[form] = self._feat(raw, form, "split")
        if getattr(self, "shapes", None) is not None:
            done = " ".join(p if p == "-" else self._expand_part(p, complete=True) for p in parts)
            out.setdefault(done, self._feat(raw, done, "split"))

    def _compounds(self, form: str) -> list[str]:
        """The hyphenated and the closed compound of a two-word form, where the vocabulary has them."""
        words = form.split()
        if len(words) == 3 and words[1] == "-":
            words = [words[0], words[2]]
        if len(words) != 2 or not all(w.isalpha() for w in words):
            return []
        return [w for w in (f"{words[0]}-{words[1]}", f"{words[0]}{words[1]}") if w in self.vocab]

    def _complete(self, low: str) -> str | None:
        """The most frequent vocabulary word that a truncated token begins (four letters or more)."""
        if len(low) < 4 or not low.isalpha() or low in self.vocab or low in self.lexicon:
            return None
        hits = [w for w in self._by_first.get(low[0], ()) if w.startswith(low) and w != low]
        return max(hits, key=lambda w: (self.vocab.get(w, 0), w), default=None)

    def _segment(self, raw: str) -> str | None:
        """Best split of a run-together token into known training tokens (``A/Cfan`` → ``A/C`` + ``fan``).

        Dynamic programming over split points (Viterbi word segmentation): pieces are raw
        tokens seen in training (two characters or more), ids/numbers or a separator; each
        piece scores the log of its training count minus a per-piece penalty.
        """
        n = len(raw)
        if n < 4 or n > 40 or not self.known:
            return None
        best: list[tuple[float, int]] = [(0.0, 0)] + [(-math.inf, 0)] * n
        for j in range(1, n + 1):
            for i in range(max(0, j - 20), j):
                if best[i][0] == -math.inf or (i == 0 and j == n):
                    continue
                piece = raw[i:j]
                count = self.known.get(piece.lower(), 0) if len(piece) >= 2 else 0
                if count:
                    score = math.log1p(count) - 3.0
                elif piece in "/&+-" and len(piece) == 1:
                    score = -1.0
                elif mask_token(piece) is not None and any(ch.isdigit() for ch in piece):
                    score = -4.0
                else:
                    continue
                if best[i][0] + score > best[j][0]:
                    best[j] = (best[i][0] + score, i)
        if best[n][0] == -math.inf:
            return None
        pieces: list[str] = []
        j = n
        while j > 0:
            i = best[j][1]
            pieces.append(raw[i:j])
            j = i
        return " ".join(w for p in reversed(pieces) for w in [self._expand_part(p)] if w)

    def _lexicon_candidates(self, low: str) -> list[Candidate]:
        """English words one edit (or one transposition) away from a non-word, most frequent first."""
        near = {w for d in _deletes(low) for w in self._lex_deletes.get(d, ())}
        hits = [w for w in near if damerau_levenshtein(low, w, 1) <= 1]
        hits.sort(key=lambda w: (-self.vocab.get(w, 0), w))
        return [
            Candidate(w, "lex", (*self._feat(low, w, "lex", 1).features, float(rank), float(len(hits))))
            for rank, w in enumerate(hits[:3])
        ]

    def _vocab_candidates(self, low: str) -> list[Candidate]:
        scored: list[tuple[float, Candidate]] = []
        for w in self._by_first.get(low[0], ()):
            if w == low:
                continue
            prefix = w.startswith(low) and len(low) >= 3
            subseq = len(low) >= 3 and is_subsequence(low, w) and len(w) <= 3 * len(low)
            dist = damerau_levenshtein(low, w, 2)
            if not (prefix or subseq or dist <= 2):
                continue
            if dist > 2:
                dist = 3
            cand = self._feat(low, w, "vocab", dist, prefix, subseq, scored=False)
            rank = self._logfreq(w) - 1.5 * min(dist, 3) + (1.0 if prefix else 0.0) + (1.0 if subseq else 0.0)
            scored.append((rank, cand))
        scored.sort(key=lambda x: -x[0])
        chosen = scored[: self.max_vocab_candidates]
        channel: ErrorModel | None = getattr(self, "channel", None)
        if channel is not None:  # the noisy channel's best words too, first letter free (``iol`` → ``oil``)
            taken = {c.form for _, c in chosen}
            pool = [c for _, c in scored[: 4 * self.max_vocab_candidates] if c.form not in taken]
            near = {w for d in _deletes(low) for w in self._vocab_deletes.get(d, ())} - taken - {c.form for c in pool}
            for w in sorted(near):
                if w != low and w[0] != low[0]:
                    dist = damerau_levenshtein(low, w, 2)
                    if dist <= 2:
                        pool.append(self._feat(low, w, "vocab", dist, scored=False))
            taken |= {c.form for c in pool}
            proposed = sorted(self._channel_proposals(channel, low) - taken,
                              key=lambda w: (-(channel.log_prob(low, w) + self._logfreq(w)), w))
            for w in proposed[: self.max_vocab_candidates // 2]:
                dist = min(damerau_levenshtein(low, w, 2), 3)
                pool.append(self._feat(low, w, "vocab", dist, w.startswith(low), is_subsequence(low, w), scored=False))
            pool.sort(key=lambda c: -(channel.log_prob(low, c.form) + self._logfreq(c.form)))
            chosen += [(0.0, c) for c in pool[: self.max_vocab_candidates // 2]]
        return [Candidate(c.form, c.kind, (*c.features, *self._channel_features(low, c.form), float(rank),
                                           float(len(scored))))
                for rank, (_, c) in enumerate(chosen)]

    def _channel_proposals(self, channel: ErrorModel, low: str, widened: int = 20) -> set[str]:
        """Vocabulary words the channel's learned substring edits reach from ``low`` (``lite`` → ``light``).

        The strings :meth:`.ErrorModel.sources` undoes the edits into are looked up in the
        vocabulary's SymSpell deletion index, so a word one more insertion away is found too;
        the ``widened`` cheapest strings also look up their own one-deletion keys (one more
        deletion away).
        """
        sources = channel.sources(low)
        index = self._vocab_deletes
        found = {w for s in sources for w in index.get(s, ())}
        for s in sorted(sources, key=lambda k: (sources[k], k))[:widened]:
            found.update(w for d in _deletes(s) for w in index.get(d, ()))
        found.discard(low)
        return found


@lru_cache(maxsize=4)
def _deletion_index(lexicon: frozenset[str]) -> dict[str, list[str]]:
    """Deletion key → lexicon words (built once per lexicon; the fold rankers share it)."""
    index: dict[str, list[str]] = {}
    for w in sorted(lexicon):
        if len(w) >= 3:
            for d in _deletes(w):
                index.setdefault(d, []).append(w)
    return index


def _deletes(word: str) -> set[str]:
    """The word and every string one deletion away (SymSpell's index keys, Garbe 2012)."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
