"""A learned noisy-channel error model: how likely a raw token is as a writing of a normalised word.

The model follows Brill & Moore (2000, "An improved error model for noisy channel spelling
correction"): edit probabilities are counted from aligned pairs of intended and written words
(here MaintNorm's training pairs: ``replace`` written ``repl``, ``ceiling`` written ``cieling``).
Its base is single-character edits (substitution, deletion, insertion, swap of neighbours)
conditioned on the gold character before the edit, backed off to no context, so the model learns
that technicians drop vowels after a consonant, plus one edit that matters for maintenance text,
cutting the rest of a word off (``repl``), learned as one event. With ``longest`` > 0 it also
learns their substring edits: each edit of an aligned pair is widened by the matches and edits
around it into ``alpha`` → ``beta`` (up to ``longest`` characters a side), counted once per pair
and conditioned on where ``alpha`` stands in the word (start, middle, end), with
P(alpha → beta | position) = count(alpha → beta) / (count(alpha) + 1) over the pairs' intended
words. ``log_prob(raw, word)`` is the best partition's log probability (a dynamic programme over
both kinds of edit: the channel term of the noisy-channel model); ``sources(raw)`` undoes learned
substring edits to propose intended words. The normaliser's ranker weighs the score against the
word's frequency and context.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Self

__all__ = ["ErrorModel", "align", "substring_edits"]

_START = "^"


def _operations(word: str, raw: str) -> list[tuple[str, int, int, int, int]]:
    """The cheapest edit path from ``word`` to ``raw``: ``(kind, i, j, di, dj)``, ``word[i:i+di]`` → ``raw[j:j+dj]``."""
    n, m = len(word), len(raw)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[str, int, int]]] = [[("", 0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            steps: list[tuple[str, int, int, float]] = []
            if i < n and j < m:
                steps.append(("keep" if word[i] == raw[j] else "sub", 1, 1, 0.0 if word[i] == raw[j] else 1.5))
            if i < n:
                steps.append(("del", 1, 0, 1.0))
            if j < m:
                steps.append(("ins", 0, 1, 1.0))
            if i + 1 < n and j + 1 < m and word[i] == raw[j + 1] and word[i + 1] == raw[j] and word[i] != word[i + 1]:
                steps.append(("swap", 2, 2, 1.0))
            for kind, di, dj, w in steps:
                if c + w < cost[i + di][j + dj]:
                    cost[i + di][j + dj] = c + w
                    back[i + di][j + dj] = (kind, i, j)
    ops: list[tuple[str, int, int, int, int]] = []
    i, j = n, m
    while i or j:
        kind, pi, pj = back[i][j]
        ops.append((kind, pi, pj, i - pi, j - pj))
        i, j = pi, pj
    ops.reverse()
    return ops


def _cut_start(ops: list[tuple[str, int, int, int, int]]) -> int:
    """Index of the trailing run of deletions that is one cut (``len(ops)`` when there is none)."""
    k = len(ops)
    while k and ops[k - 1][0] == "del":
        k -= 1
    return k if 0 < k < len(ops) else len(ops)  # a cut needs one written character before it


def align(word: str, raw: str) -> list[tuple[str, str, str]]:
    """Edit operations that turn ``word`` (intended) into ``raw`` (written), with the gold character before each.

    Each operation is ``(kind, left, edit)``: kind ``keep``/``sub``/``del``/``ins``/``swap``/``cut``,
    ``left`` the intended character before it (``^`` at the start) and ``edit`` the characters
    involved (``"ab"`` for a → b). A trailing run of deletions is one ``cut``.

    >>> [op for op in align("replace", "repl") if op[0] != "keep"]
    [('cut', 'l', '3')]
    >>> [op for op in align("ceiling", "cieling") if op[0] != "keep"]
    [('swap', 'c', 'ei')]
    """
    return _named(word, raw, _operations(word, raw))


def _named(word: str, raw: str, ops: list[tuple[str, int, int, int, int]]) -> list[tuple[str, str, str]]:
    """:func:`align`'s named operations from :func:`_operations`' path."""
    k = _cut_start(ops)
    out: list[tuple[str, str, str]] = []
    for kind, i, j, di, _ in ops[:k]:
        left = word[i - 1] if i else _START
        edit = raw[j] if kind == "ins" else word[i] + raw[j] if kind == "sub" else word[i : i + di]
        out.append((kind, left, edit))
    if k < len(ops):
        out.append(("cut", word[ops[k][1] - 1], str(len(ops) - k)))
    return out


def _position(start: int, end: int, length: int) -> int:
    """Brill & Moore's position of a substring in its word: 0 start, 2 end, 1 middle."""
    return 0 if start == 0 else 2 if end == length else 1


def substring_edits(word: str, raw: str, longest: int = 3) -> set[tuple[str, str, int]]:
    """Brill & Moore's substring edits ``(alpha, beta, position)`` of one aligned pair.

    Every run of consecutive operations of the cheapest alignment that holds at least one edit
    and whose intended (``alpha``) and written (``beta``) sides are at most ``longest``
    characters is one edit, so each single-character edit also comes with the matches around it
    (Brill & Moore 2000, section 3). ``alpha`` is never empty; a trailing cut is left to the cut event.

    >>> sorted(e for e in substring_edits("pump", "pmp") if len(e[0]) <= 2)
    [('pu', 'p', 0), ('u', '', 1), ('um', 'm', 1)]
    """
    return _substrings(word, raw, _operations(word, raw), longest)


def _substrings(word: str, raw: str, ops: list[tuple[str, int, int, int, int]], longest: int
                ) -> set[tuple[str, str, int]]:
    ops = ops[: _cut_start(ops)]
    out: set[tuple[str, str, int]] = set()
    for a in range(len(ops)):
        edited = False
        for b in range(a, len(ops)):
            edited = edited or ops[b][0] != "keep"
            i0, j0 = ops[a][1], ops[a][2]
            i1, j1 = ops[b][1] + ops[b][3], ops[b][2] + ops[b][4]
            if i1 - i0 > longest or j1 - j0 > longest:
                break
            if edited and i1 > i0:
                out.add((word[i0:i1], raw[j0:j1], _position(i0, i1, len(word))))
    return out


class ErrorModel:
    """Edit probabilities learned from (written, intended) word pairs; ``log_prob`` scores a new pair.

    Parameters
    ----------
    alpha
        Additive smoothing of every edit count.
    backoff
        Weight of the context-free estimate mixed into the one-character-context one.
    longest
        Longest side of a learned substring edit (Brill & Moore's alpha → beta); 0 (the default, as
        the Normalizer's, where they did not help: docs/text.md) leaves the substring edits out, so
        only the single-character model scores.
    min_count
        Training pairs a substring edit must be seen in to be used.

    Examples
    --------
    >>> pairs = [("repl", "replace"), ("assy", "assembly"), ("cieling", "ceiling"), ("hose", "hose")] * 3
    >>> em = ErrorModel().fit(pairs)
    >>> em.log_prob("repl", "replace") > em.log_prob("repl", "ripple")
    True
    """

    def __init__(self, *, alpha: float = 0.5, backoff: float = 0.3, longest: int = 0, min_count: int = 1) -> None:
        self.alpha = alpha
        self.backoff = backoff
        self.longest = longest
        self.min_count = min_count

    def fit(self, pairs: Iterable[tuple[str, str]]) -> Self:
        """Count edits over the distinct lower-case alphabetic pairs (each pair type counted once)."""
        edits: Counter[tuple[str, str, str]] = Counter()
        plain: Counter[tuple[str, str]] = Counter()
        context: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        cuts: Counter[int] = Counter()
        subs: Counter[tuple[str, str, int]] = Counter()
        seen: Counter[tuple[str, int]] = Counter()
        n_pairs = 0
        longest = getattr(self, "longest", 0)
        for raw, word in {(r.lower(), w.lower()) for r, w in pairs if r.isalpha() and w.isalpha()}:
            n_pairs += 1
            for k, ch in enumerate(word):
                chars[ch] += 1
                context[word[k - 1] if k else _START] += 1
                for end in range(k + 1, min(len(word), k + longest) + 1):
                    seen[(word[k:end], _position(k, end, len(word)))] += 1
            ops = _operations(word, raw)
            if longest and raw != word:
                subs.update(_substrings(word, raw, ops, longest))
            for kind, left, edit in _named(word, raw, ops):
                if kind == "keep":
                    continue
                if kind == "cut":
                    cuts[min(int(edit), 8)] += 1
                    continue
                edits[(kind, left, edit)] += 1
                plain[(kind, edit)] += 1
        self.edits_, self.plain_, self.context_, self.chars_ = edits, plain, context, chars
        self.n_chars_ = max(1, sum(chars.values()))
        self.n_pairs_ = max(1, n_pairs)
        self.cuts_ = cuts
        # P(alpha -> beta | position) = count(alpha -> beta) / (count(alpha) + 1), over the pairs' intended words
        self.substrings_ = {
            (a, b, pos): -math.log(n / (seen[(a, pos)] + 1.0))
            for (a, b, pos), n in subs.items() if n >= getattr(self, "min_count", 1)
        }
        self._cache: dict[tuple[str, str, bool], float] = {}
        self._costs: dict[tuple[str, str, str], float] = {}
        self._index()
        return self

    def _index(self) -> None:
        """The substring edits by intended side (for scoring) and by written side (for proposing)."""
        by_alpha: dict[tuple[str, int], list[tuple[str, float]]] = {}
        by_beta: dict[tuple[str, int], list[tuple[str, float]]] = {}
        for (a, b, pos), cost in sorted(self.__dict__.get("substrings_", {}).items(), key=lambda kv: (kv[1], kv[0])):
            by_alpha.setdefault((a, pos), []).append((b, cost))
            by_beta.setdefault((b, pos), []).append((a, cost))
        self._by_alpha, self._by_beta = by_alpha, by_beta
        self._cheapest = min((c for edits in by_beta.values() for _, c in edits), default=math.inf)

    def _edit_cost(self, kind: str, left: str, edit: str) -> float:
        """-log P(edit | left character), the context estimate mixed with the context-free one; memoised."""
        costs: dict[tuple[str, str, str], float] = self.__dict__.setdefault("_costs", {})
        hit = costs.get((kind, left, edit))
        if hit is None:
            hit = costs[(kind, left, edit)] = self._estimate(kind, left, edit)
        return hit

    def _estimate(self, kind: str, left: str, edit: str) -> float:
        a = self.alpha
        ctx = (self.edits_.get((kind, left, edit), 0) + a) / (self.context_.get(left, 0) + 30 * a)
        free = (self.plain_.get((kind, edit), 0) + a) / (self.n_chars_ + 30 * a)
        return -math.log((1 - self.backoff) * ctx + self.backoff * free)

    def _cut_cost(self, length: int) -> float:
        return -math.log((self.cuts_.get(min(length, 8), 0) + self.alpha) / (self.n_pairs_ + 9 * self.alpha))

    def log_prob(self, raw: str, word: str, *, substrings: bool = True) -> float:
        """Log probability of writing ``word`` as ``raw`` under the best alignment (0 for the word itself).

        ``substrings=False`` scores with the single-character edits and the cut alone.
        """
        raw, word = raw.lower(), word.lower()
        if raw == word:
            return 0.0
        hit = self._cache.get((raw, word, substrings))
        if hit is not None:
            return hit
        n, m = len(word), len(raw)
        inf = float("inf")
        cost = [[inf] * (m + 1) for _ in range(n + 1)]
        cost[0][0] = 0.0
        by_alpha: dict[tuple[str, int], list[tuple[str, float]]] = self.__dict__.get("_by_alpha", {})
        if not substrings:
            by_alpha = {}
        for i in range(n + 1):
            left = word[i - 1] if i else _START
            spans = [(a, edits) for a in range(1, min(3, n - i) + 1)
                     if (edits := by_alpha.get((word[i : i + a], _position(i, i + a, n))))] if by_alpha else []
            for j in range(m + 1):
                c = cost[i][j]
                if c == inf:
                    continue
                for a, edits in spans:  # Brill & Moore: word[i:i+a] written as a learned substring
                    for beta, step in edits:
                        if raw.startswith(beta, j) and c + step < cost[i + a][j + len(beta)]:
                            cost[i + a][j + len(beta)] = c + step
                if i < n and j < m:
                    step = 0.0 if word[i] == raw[j] else self._edit_cost("sub", left, word[i] + raw[j])
                    if c + step < cost[i + 1][j + 1]:
                        cost[i + 1][j + 1] = c + step
                if i < n and c + (d := self._edit_cost("del", left, word[i])) < cost[i + 1][j]:
                    cost[i + 1][j] = c + d
                if j < m and c + (d := self._edit_cost("ins", left, raw[j])) < cost[i][j + 1]:
                    cost[i][j + 1] = c + d
                if (i + 1 < n and j + 1 < m and word[i] == raw[j + 1] and word[i + 1] == raw[j]
                        and c + (d := self._edit_cost("swap", left, word[i : i + 2])) < cost[i + 2][j + 2]):
                    cost[i + 2][j + 2] = c + d
        best = cost[n][m]
        for i in range(1, n):
            if cost[i][m] < inf:
                best = min(best, cost[i][m] + self._cut_cost(n - i))
        out = -best
        if len(self._cache) < 200_000:
            self._cache[(raw, word, substrings)] = out
        return out

    def sources(self, raw: str, *, beam: int = 6, per_edit: int = 4, max_cost: float = 7.0) -> dict[str, float]:
        """Strings the learned substring edits could have turned into ``raw``, with a rough cost (nats).

        The edits are undone in reverse (``raw[j:j+len(beta)]`` → ``alpha``), up to two of them,
        keeping the ``beam`` cheapest strings after the first and the ``per_edit`` cheapest
        intended sides of each written side; strings above ``max_cost`` are dropped. The costs
        only prune: a proposed word is scored afresh by :meth:`log_prob`.
        """
        raw = raw.lower()
        by_beta: dict[tuple[str, int], list[tuple[str, float]]] = self.__dict__.get("_by_beta", {})
        if not by_beta or not raw:
            return {}
        out: dict[str, float] = {}
        frontier = {raw: 0.0}
        for _ in range(2):
            found: dict[str, float] = {}
            for text, base in frontier.items():
                m = len(text)
                if base + self._cheapest >= max_cost:
                    continue
                for j in range(m + 1):
                    for b in range(min(3, m - j) + 1):
                        for alpha, step in by_beta.get((text[j : j + b], _position(j, j + b, m)), ())[:per_edit]:
                            cost = base + step
                            new = text[:j] + alpha + text[j + b :]
                            if cost <= max_cost and cost < found.get(new, math.inf) and new != raw:
                                found[new] = cost
            for text, cost in found.items():
                if cost < out.get(text, math.inf):
                    out[text] = cost
            frontier = dict(sorted(found.items(), key=lambda kv: (kv[1], kv[0]))[:beam])  # ties by text, not hash
        return out
