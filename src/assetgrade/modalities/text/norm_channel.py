"""A learned noisy-channel error model: how likely a raw token is as a writing of a normalised word.

The model follows Brill & Moore (2000, "An improved error model for noisy channel spelling
correction"): edit probabilities are counted from aligned pairs of intended and written words
(here MaintNorm's training pairs: ``replace`` written ``repl``, ``ceiling`` written ``cieling``)
and conditioned on the gold character before the edit, so the model learns that technicians drop
vowels after a consonant and cut words short, rather than assuming every edit costs the same.
It is a restricted form of their substring model: edits are single characters (substitution,
deletion, insertion, swap of neighbours) with one character of left context, backed off to no
context, plus one edit of theirs that matters for maintenance text, cutting the rest of a word
off (``repl``), learned as one event. ``log_prob(raw, word)`` is the best alignment's log
probability (a weighted edit distance, the channel term of the noisy-channel model); the
normaliser's ranker weighs it against the word's frequency and context.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Self

__all__ = ["ErrorModel", "align"]

_START = "^"


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
    ops: list[tuple[str, str, str]] = []
    i, j = n, m
    while i or j:
        kind, pi, pj = back[i][j]
        left = word[pi - 1] if pi else _START
        if kind == "ins":
            edit = raw[pj]
        else:
            edit = word[pi] + raw[pj] if kind == "sub" else word[pi : pi + (2 if kind == "swap" else 1)]
        ops.append((kind, left, edit))
        i, j = pi, pj
    ops.reverse()
    k = len(ops)
    while k and ops[k - 1][0] == "del":
        k -= 1
    if k < len(ops) and k > 0:  # a cut needs one written character before it
        ops = [*ops[:k], ("cut", ops[k][1], str(len(ops) - k))]
    return ops


class ErrorModel:
    """Edit probabilities learned from (written, intended) word pairs; ``log_prob`` scores a new pair.

    Parameters
    ----------
    alpha
        Additive smoothing of every edit count.
    backoff
        Weight of the context-free estimate mixed into the one-character-context one.

    Examples
    --------
    >>> pairs = [("repl", "replace"), ("assy", "assembly"), ("cieling", "ceiling"), ("hose", "hose")] * 3
    >>> em = ErrorModel().fit(pairs)
    >>> em.log_prob("repl", "replace") > em.log_prob("repl", "ripple")
    True
    """

    def __init__(self, *, alpha: float = 0.5, backoff: float = 0.3) -> None:
        self.alpha = alpha
        self.backoff = backoff

    def fit(self, pairs: Iterable[tuple[str, str]]) -> Self:
        """Count edits over the distinct lower-case alphabetic pairs (each pair type counted once)."""
        edits: Counter[tuple[str, str, str]] = Counter()
        plain: Counter[tuple[str, str]] = Counter()
        context: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        cuts: Counter[int] = Counter()
        n_pairs = 0
        for raw, word in {(r.lower(), w.lower()) for r, w in pairs if r.isalpha() and w.isalpha()}:
            n_pairs += 1
            for k, ch in enumerate(word):
                chars[ch] += 1
                context[word[k - 1] if k else _START] += 1
            for kind, left, edit in align(word, raw):
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
        self._cache: dict[tuple[str, str], float] = {}
        self._costs: dict[tuple[str, str, str], float] = {}
        return self

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

    def log_prob(self, raw: str, word: str) -> float:
        """Log probability of writing ``word`` as ``raw`` under the best alignment (0 for the word itself)."""
        raw, word = raw.lower(), word.lower()
        if raw == word:
            return 0.0
        hit = self._cache.get((raw, word))
        if hit is not None:
            return hit
        n, m = len(word), len(raw)
        inf = float("inf")
        cost = [[inf] * (m + 1) for _ in range(n + 1)]
        cost[0][0] = 0.0
        for i in range(n + 1):
            left = word[i - 1] if i else _START
            for j in range(m + 1):
                c = cost[i][j]
                if c == inf:
                    continue
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
            self._cache[(raw, word)] = out
        return out
