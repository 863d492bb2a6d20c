"""Token-level lexical normalisation and masking of maintenance short texts.

A token seen in training takes its most frequent normalisation, chosen in context
(the neighbouring tokens decide between ``REP`` → ``replace``/``repair`` and merge ``A
Frame`` → ``A-frame``). The ontology's user-editable abbreviation list comes next. A token
never seen gets candidates (:mod:`.candidates`: masks, splits, lower-casing, vocabulary
look-alikes) ranked by a logistic-regression ranker trained on tokens held out of the
training folds, with a bigram context score — MoNoise's generate-and-rank design
(van der Goot 2019) on the MaintNorm corpus (Bikaun, Hodkiewicz & Liu, W-NUT 2024).
Metrics follow van der Goot (2019): precision, recall and error-reduction rate over tokens.
"""

from __future__ import annotations

import itertools
import math
import numbers
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.modalities.text.candidates import (
    Candidate,
    CandidateGenerator,
    digit_shape,
    is_subsequence,
    mask_token,
)
from assetgrade.modalities.text.examples import NormText
from assetgrade.modalities.text.norm_channel import ErrorModel
from assetgrade.modalities.text.norm_context import ContextDisambiguator
from assetgrade.modalities.text.norm_lexicon import load_lexicon, load_word_frequency

__all__ = ["NormalizedText", "Normalizer", "normalization_scores"]

_BOS, _EOS = "<s>", "</s>"


def abbreviation_key(text: str) -> str:
    """A token as the abbreviation list is looked up: NFKC (Unicode Standard Annex #15), then lower-cased.

    So decomposed accents (NFD) and full-width letters find their abbreviation; ASCII is only lower-cased
    (not case-folded: ``str.casefold`` would also change ASCII look-ups' neighbours such as 'ß' → 'ss').

    >>> abbreviation_key("FISSURE\u0301") == "fissur\u00e9", abbreviation_key("\uff23\uff39\uff2c")
    (True, 'cyl')
    """
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).lower()


def abbreviation_table(abbreviations: Mapping[str, str]) -> dict[str, str]:
    """Abbreviation -> expansion keyed by :func:`abbreviation_key`; ASCII keys stay as given."""
    return {(k if k.isascii() else abbreviation_key(k)): v for k, v in abbreviations.items()}


TRUNCATED_TEXT_CHARS = 38  # MaintNorm texts stop at about 40 characters; 38+ are likely cut short


@dataclass(frozen=True)
class NormalizedText:
    """A normalised text: raw tokens, one output per token ('' = merged away) and the joined text."""

    raw: tuple[str, ...]
    output: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(o for o in self.output if o)


def normalization_scores(raw: Sequence[str], gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Token-level TP/FP/FN, precision, recall and ERR as in van der Goot (2019), in percent.

    >>> normalization_scores(["REPL", "hose"], ["replace", "hose"], ["replace", "hose"])["recall"]
    100.0
    """
    tp = fp = fn = 0
    for r, g, p in zip(raw, gold, pred, strict=True):
        if g != r and p == g:
            tp += 1
        elif g == r and p != g:
            fp += 1
        elif g != r:
            fn += 1
    return {
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
        "precision": 100.0 * tp / max(1, tp + fp),
        "recall": 100.0 * tp / max(1, tp + fn),
        "err": 100.0 * (tp - fp) / max(1, tp + fn),
    }


class _Memory:
    """Counts of gold forms per raw token, with left/right context and a gold bigram model."""

    def __init__(self, texts: Sequence[NormText], substring_edits: bool = False) -> None:
        self.cs: dict[str, Counter[str]] = defaultdict(Counter)
        self.lc: dict[str, Counter[str]] = defaultdict(Counter)
        self.left: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.right: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.tri: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        self.vocab: Counter[str] = Counter()
        self.bigram: Counter[tuple[str, str]] = Counter()
        self.shapes: dict[str, Counter[str]] = defaultdict(Counter)
        for t in texts:
            low = [_BOS, *(r.lower() for r in t.raw), _EOS]
            for i, (r, g) in enumerate(zip(t.raw, t.gold, strict=True)):
                self.cs[r][g] += 1
                self.lc[r.lower()][g] += 1
                self.left[(low[i], low[i + 1])][g] += 1
                self.right[(low[i + 1], low[i + 2])][g] += 1
                self.tri[(low[i], low[i + 1], low[i + 2])][g] += 1
                shape = digit_shape(r)
                if shape is not None and not any(ch.isdigit() for ch in g):
                    self.shapes[shape][g] += 1
            words = [_BOS, *(w for g in t.gold for w in g.split()), _EOS]
            self.vocab.update(words[1:-1])
            self.bigram.update(itertools.pairwise(words))
        self.channel = ErrorModel(longest=3 if substring_edits else 0).fit(
            (r, g) for t in texts for r, g in zip(t.raw, t.gold, strict=True))

    def known(self) -> dict[str, int]:
        """Lower-cased training tokens with their counts (the pieces for splitting run-together tokens)."""
        return {k: sum(v.values()) for k, v in self.lc.items()}

    def seen(self, token: str) -> bool:
        return token.lower() in self.lc

    def best(self, prev: str, token: str, nxt: str, prev_out: str = "", proposal: str | None = None) -> str:
        """The gold form for ``token`` in context; '' (merged away) only after a merge that absorbed it.

        ``proposal`` (a context classifier's answer) replaces the count-based choice.
        """
        form = self._best(prev, token, nxt) if proposal is None else proposal
        key = "".join(ch for ch in token.lower() if ch.isalnum())
        merged = "".join(ch for ch in prev_out.lower() if ch.isalnum())
        changed = bool(key) and prev_out.lower() != prev
        if form == "" and not (changed and is_subsequence(key, merged)):  # ``Cam SFT`` → ``camshaft``, ''
            alts = [g for g, _ in self.lc[token.lower()].most_common() if g]
            return alts[0] if alts else form
        if form and changed and key in merged and self.lc[token.lower()][""] >= 2:
            return ""  # the previous token's form already took this one in (``O RING`` → ``o-ring``)
        return form

    def _best(self, prev: str, token: str, nxt: str) -> str:
        low = token.lower()
        uni = self.cs.get(token) or self.lc[low]
        tri = self.tri.get((prev, low, nxt))
        if tri:
            form, n = tri.most_common(1)[0]
            # one odd trigram (often a misaligned annotation) does not overrule a token's usual reading
            if n >= 2 or self.lc[low][form] >= 2:
                return form
        if len(uni) == 1:
            return next(iter(uni))
        ctx: Counter[str] = Counter()
        ctx.update(self.left.get((prev, low), Counter()))
        ctx.update(self.right.get((low, nxt), Counter()))
        if ctx:  # ties go to the token's usual reading (``REPLACE 1 X``: <id> once left, <num> once right)
            total = sum(uni.values())
            return max(ctx, key=lambda g: (ctx[g] + uni.get(g, 0) / (total + 1), g))
        return uni.most_common(1)[0][0]

    def lookup(self, token: str) -> str | None:
        uni = self.cs.get(token) or self.lc.get(token.lower())
        return uni.most_common(1)[0][0] if uni else None

    def context_score(self, prev_word: str, form: str, next_word: str) -> float:
        if not form:
            return 0.0
        words = form.split()
        a = self.bigram.get((prev_word, words[0]), 0)
        b = self.bigram.get((words[-1], next_word), 0)
        return math.log1p(a) + math.log1p(b)


class Normalizer:
    """Learned lexical normaliser and masker for maintenance short texts.

    Parameters
    ----------
    abbreviations
        Lower-case abbreviation → expansion (the ontology's ``abbreviations``); consulted for
        tokens the training pairs never showed.
    n_folds
        Folds over the training texts used to train the unseen-token ranker.
    seed
        Seed for the fold assignment.
    rule_masks
        Mask unseen ids, numbers and dates by pattern (``EX12`` → ``<id>``) before ranking.
    context_classifier
        Train per-token context classifiers (:mod:`.norm_context`) for seen tokens whose
        normalisation depends on the sentence (``REP`` → ``repair``/``replace``).
    lexicon
        English words for the "is it a word?" feature and for one-edit corrections of
        non-words; ``None`` loads the bundled WordPiece word list (:mod:`.norm_lexicon`),
        an empty collection switches it off.
    word_frequency
        Give the ranker how common the raw token and each candidate are in general English
        (:func:`.norm_lexicon.load_word_frequency`): a frequent candidate for a token no
        English text uses is likely its correction (``controler`` → ``controller``).
    noisy_channel
        Score candidates of unseen tokens with a noisy-channel error model learned from the
        training pairs (:mod:`.norm_channel`) and add the words it finds most likely.
    substring_edits
        Give that error model Brill & Moore's substring edits (``ght`` written ``te``) besides
        its single-character ones, for scoring and for proposing words; off by default, as it
        gained nothing on MaintNorm validation (docs/text.md, Limitations).

    Examples
    --------
    >>> pairs = [NormText(("REPL", "HYD", "HOSE"), ("replace", "hydraulic", "hose"))] * 3
    >>> norm = Normalizer(abbreviations={"cyl": "cylinder"}, rule_masks=True).fit(pairs)
    >>> norm.normalize("repl hyd cyl EX12").text
    'replace hydraulic cylinder <id>'
    """

    def __init__(
        self,
        *,
        abbreviations: Mapping[str, str] | None = None,
        n_folds: int = 5,
        seed: int = 0,
        rule_masks: bool = False,
        lexicon: Iterable[str] | None = None,
        context_classifier: bool = True,
        word_frequency: bool = True,
        noisy_channel: bool = True,
        substring_edits: bool = False,
    ) -> None:
        self.noisy_channel = noisy_channel
        self.substring_edits = substring_edits
        self.word_frequency = word_frequency
        self.context_classifier = context_classifier
        self.rule_masks = rule_masks
        self.lexicon = load_lexicon() if lexicon is None else frozenset(w.lower() for w in lexicon)
        self.abbreviations = dict(abbreviations or {})
        for name, value, low in (("n_folds", n_folds, 2), ("seed", seed, 0)):  # folds of one would train on nothing
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValidationError(f"{name}={value!r}; a whole number >= {low}", where=f"Normalizer.{name}")
        self.n_folds = n_folds
        self.seed = seed

    def fit(self, texts: Sequence[NormText]) -> Self:
        """Learn the memory and the unseen-token ranker from MaintNorm-format pairs."""
        if not texts:
            raise ValidationError("no training texts", where="Normalizer.fit")
        self.memory_ = _Memory(texts, self._substring_edits())
        self.generator_ = CandidateGenerator(
            self.memory_.vocab, self._lookup, lexicon=self.lexicon, known=self.memory_.known(),
            shapes=self.memory_.shapes, channel=self.memory_.channel if self.noisy_channel else None,
        )
        self.ranker_ = self._fit_ranker(texts)
        self.context_ = ContextDisambiguator().fit(texts) if self.context_classifier else None
        return self

    def _substring_edits(self) -> bool:
        return bool(getattr(self, "substring_edits", False))  # False for models pickled before the option

    def _lookup(self, token: str) -> str | None:
        mem: _Memory = self.memory_
        hit = mem.lookup(token)
        if hit is None:
            hit = self._abbreviation(token)
        return hit

    def _abbreviation(self, token: str) -> str | None:
        """The abbreviation list's expansion of ``token``, Unicode forms ignored (:func:`abbreviation_key`)."""
        cached: tuple[Mapping[str, str], dict[str, str]] | None = self.__dict__.get("_abbreviation_table")
        if cached is None or cached[0] is not self.abbreviations:  # also a model pickled before the table
            cached = (self.abbreviations, abbreviation_table(self.abbreviations))
            self.__dict__["_abbreviation_table"] = cached
        return cached[1].get(abbreviation_key(token))

    def _fit_ranker(self, texts: Sequence[NormText]) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        rng = np.random.default_rng(self.seed)
        folds = rng.integers(0, self.n_folds, size=len(texts))
        freq = self._frequency()
        xs: list[list[float]] = []
        ys: list[int] = []
        for k in range(self.n_folds):
            mem = _Memory([t for t, f in zip(texts, folds, strict=True) if f != k], self._substring_edits())
            gen = CandidateGenerator(mem.vocab, mem.lookup, lexicon=self.lexicon, known=mem.known(), shapes=mem.shapes,
                                     channel=mem.channel if self.noisy_channel else None)
            for t, f in zip(texts, folds, strict=True):
                if f != k:
                    continue
                for i, (r, g) in enumerate(zip(t.raw, t.gold, strict=True)):
                    if mem.seen(r) or not r:
                        continue
                    prev_w, next_w = _context_words(mem, t.raw, i)
                    for c in gen.generate(r):
                        xs.append(_rank_features(mem, c, prev_w, next_w, t.raw, i, freq, truncation=True))
                        ys.append(int(c.form == g))
        if len(set(ys)) < 2:
            return None

        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, max_leaf_nodes=15, random_state=self.seed
        )
        model.fit(np.asarray(xs), np.asarray(ys))
        return model

    def _frequency(self) -> Mapping[str, int] | None:
        """The English word counts for the ranker, or None (switched off, or a model pickled before them)."""
        return load_word_frequency() if getattr(self, "word_frequency", False) else None

    def normalize_tokens(self, tokens: Sequence[str]) -> list[str]:
        """One normalised output per token (may be '' for a token merged into its neighbour)."""
        return self.normalize_batch([tokens])[0]

    def normalize_batch(self, texts: Sequence[Sequence[str]]) -> list[list[str]]:
        """Normalise many tokenised texts; unseen tokens of all texts are ranked in one batch."""
        if not hasattr(self, "memory_"):
            raise ValidationError("fit the normaliser (on MaintNorm-format pairs) before normalising",
                                  where="Normalizer.normalize")
        mem: _Memory = self.memory_
        outs: list[list[str | None]] = []
        pending: list[tuple[int, int]] = []
        for ti, tokens in enumerate(texts):
            row: list[str | None] = []
            for i, tok in enumerate(tokens):
                if not tok or mem.seen(tok):
                    row.append(None if tok else tok)
                    continue
                abbr = self._abbreviation(tok)
                if abbr is None and self.rule_masks:
                    abbr = mask_token(tok)
                if abbr is not None:
                    row.append(abbr)
                    continue
                row.append(None)
                pending.append((ti, i))
            outs.append(row)
        for (ti, i), form in zip(pending, self._rank_unseen(texts, pending), strict=True):
            outs[ti][i] = form
        result: list[list[str]] = []
        for tokens, row in zip(texts, outs, strict=True):
            low = [_BOS, *(t.lower() for t in tokens), _EOS]
            done: list[str] = []
            for i, (tok, known) in enumerate(zip(tokens, row, strict=True)):
                if known is not None:
                    done.append(known)
                    continue
                proposal = self.context_.predict(tokens, i) if self.context_ is not None else None
                last = next((o for o in reversed(done) if o), "")  # ``G E T`` → ``GET``, '', ''
                done.append(mem.best(low[i], tok, low[i + 2], last, proposal))
            result.append(done)
        return result

    def _rank_unseen(self, texts: Sequence[Sequence[str]], pending: list[tuple[int, int]]) -> list[str]:
        if not pending:
            return []
        mem: _Memory = self.memory_
        freq = self._frequency()
        truncation = getattr(self.generator_, "shapes", None) is not None  # False for models pickled before it
        rows: list[list[float]] = []
        spans: list[tuple[int, list[Candidate]]] = []
        for ti, i in pending:
            cands = self.generator_.generate(texts[ti][i])
            prev_w, next_w = _context_words(mem, texts[ti], i)
            spans.append((len(rows), cands))
            rows.extend(_rank_features(mem, c, prev_w, next_w, texts[ti], i, freq, truncation) for c in cands)
        if self.ranker_ is None:
            return [texts[ti][i].lower() for ti, i in pending]
        p = self.ranker_.predict_proba(np.asarray(rows))[:, 1]
        return [cands[int(np.argmax(p[start : start + len(cands)]))].form for start, cands in spans]

    def normalize(self, text: str) -> NormalizedText:
        """Normalise a free text, tokenised on whitespace."""
        tokens = tuple(text.split())
        return NormalizedText(tokens, tuple(self.normalize_tokens(tokens)))

    def evaluate(self, texts: Sequence[NormText]) -> dict[str, float]:
        """Precision, recall and ERR (percent) of this normaliser on gold texts."""
        raw: list[str] = []
        gold: list[str] = []
        pred: list[str] = []
        for t in texts:
            raw.extend(t.raw)
            gold.extend(t.gold)
        for out in self.normalize_batch([t.raw for t in texts]):
            pred.extend(out)
        return normalization_scores(raw, gold, pred)


def _context_words(mem: _Memory, tokens: Sequence[str], i: int) -> tuple[str, str]:
    prev_w = _BOS
    if i > 0:
        form = mem.lookup(tokens[i - 1]) or tokens[i - 1].lower()
        prev_w = form.split()[-1] if form.split() else _BOS
    next_w = _EOS
    if i + 1 < len(tokens):
        form = mem.lookup(tokens[i + 1]) or tokens[i + 1].lower()
        next_w = form.split()[0] if form.split() else _EOS
    return prev_w, next_w


def _log_count(freq: Mapping[str, int], word: str) -> float:
    return math.log1p(freq.get(word.lower(), 0)) if word.isalpha() else -1.0


def _rank_features(
    mem: _Memory,
    c: Candidate,
    prev_w: str,
    next_w: str,
    tokens: Sequence[str],
    i: int,
    freq: Mapping[str, int] | None = None,
    truncation: bool = False,
) -> list[float]:
    """Candidate features, its bigram fit with the neighbours, where the token stands in the text,
    and (with ``freq``) the general-English log counts of the raw token and of the candidate's rarest word.

    ``truncation`` adds whether the token ends a text at MaintNorm's length limit (the source
    system cut texts near 40 characters, so such a last token is often a cut-off word) and
    whether the candidate begins with the token.
    """
    prev_raw = tokens[i - 1] if i > 0 else ""
    next_raw = tokens[i + 1] if i + 1 < len(tokens) else ""
    tok = tokens[i]
    english: list[float] = []
    if freq is not None:
        raw_count = _log_count(freq, tok)
        words = c.form.split()
        form_count = min(_log_count(freq, w) for w in words) if words and not c.form.startswith("<") else -1.0
        english = [raw_count, form_count, form_count - raw_count]
    if truncation:
        cut = i + 1 == len(tokens) and len(" ".join(tokens)) >= TRUNCATED_TEXT_CHARS
        english += [1.0 if cut else 0.0, 1.0 if c.form.lower().startswith(tok.lower()) else 0.0]
    return [
        *c.features,
        mem.context_score(prev_w, c.form, next_w),
        1.0 if i == 0 else 0.0,
        1.0 if i + 1 == len(tokens) else 0.0,
        float(len(tokens)),
        1.0 if prev_w == "<id>" else 0.0,
        1.0 if next_w == "<id>" else 0.0,
        1.0 if prev_raw.isupper() else 0.0,
        1.0 if next_raw.isupper() else 0.0,
        1.0 if tok[:1] == "0" else 0.0,
        float(sum(ch.isdigit() for ch in tok)),
        *english,
    ]
