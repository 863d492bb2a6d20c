"""Context classifiers for ambiguous seen tokens: ``REP`` → ``repair`` or ``replace``, ``No`` → ``no`` or ``number``.

A raw token (lower-cased) whose training normalisations disagree often enough gets its own
multinomial logistic regression over the neighbouring tokens (±2), the rest of the text
as a bag of words, its casing and its position — a word-sense-disambiguation classifier in
the style of Yarowsky (1994) / the per-word classifiers of lexical normalisation
(van der Goot 2019, MoNoise's context features). Tokens with one dominant reading keep the
count-based memory of :mod:`.normalize`. Prediction is a dot product over sparse features
held in plain dictionaries, so it stays fast inside batch normalisation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from assetgrade.modalities.text.examples import NormText

__all__ = ["ContextDisambiguator", "context_features"]


def context_features(tokens: Sequence[str], i: int) -> dict[str, float]:
    """Sparse features of token ``i`` in its text: the token, neighbours ±2, casing, position, other words.

    >>> sorted(context_features(["REP", "hose"], 0))[:3]
    ['bow=hose', 'case=U', 'n1=hose']
    """
    low = [t.lower() for t in tokens]
    n = len(low)
    tok = tokens[i]
    case = "U" if tok.isupper() else "l" if tok.islower() else "T"
    feats = {
        "tok=" + tok: 1.0,
        "p1=" + (low[i - 1] if i > 0 else "<s>"): 1.0,
        "n1=" + (low[i + 1] if i + 1 < n else "</s>"): 1.0,
        "p2=" + (low[i - 2] if i > 1 else "<s>"): 1.0,
        "n2=" + (low[i + 2] if i + 2 < n else "</s>"): 1.0,
        "case=" + case: 1.0,
        "pos=" + str(min(i, 3)): 1.0,
    }
    for w in low:
        if w != low[i]:
            feats["bow=" + w] = 0.5
    return feats


@dataclass
class _Linear:
    classes: tuple[str, ...]
    intercept: npt.NDArray[np.float64]
    weights: dict[str, npt.NDArray[np.float64]]

    def predict(self, feats: dict[str, float]) -> str:
        score = self.intercept.copy()
        for name, value in feats.items():
            w = self.weights.get(name)
            if w is not None:
                score += value * w
        return self.classes[int(np.argmax(score))]


class ContextDisambiguator:
    """Per-token logistic-regression classifiers for raw tokens with several frequent normalisations.

    Parameters
    ----------
    min_count
        Fewest training occurrences of a token for it to get a classifier.
    min_minority
        Fewest occurrences of its second most frequent normalisation; a normalisation seen
        fewer times for the token (often a misaligned annotation) is left out of its training.
    c
        Inverse L2 regularisation strength of each logistic regression (10 was best of 0.1-100
        on the MaintNorm validation split, trained on train).

    Examples
    --------
    >>> texts = [NormText(("REP", "fault"), ("repair", "fault")), NormText(("REP", "set"), ("replace", "set"))] * 3
    >>> ctx = ContextDisambiguator(min_count=2, min_minority=2).fit(texts)
    >>> ctx.predict(["REP", "set"], 0), ctx.predict(["REP", "fault"], 0), ctx.predict(["hose"], 0)
    ('replace', 'repair', None)
    """

    def __init__(self, *, min_count: int = 4, min_minority: int = 2, c: float = 10.0) -> None:
        self.min_count = min_count
        self.min_minority = min_minority
        self.c = c

    def fit(self, texts: Sequence[NormText]) -> Self:
        """Train one classifier per ambiguous raw token (lower-cased)."""
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for t in texts:
            for r, g in zip(t.raw, t.gold, strict=True):
                forms[r.lower()][g] += 1
        ambiguous = {
            k
            for k, v in forms.items()
            if len(v) >= 2 and sum(v.values()) >= self.min_count and v.most_common(2)[1][1] >= self.min_minority
        }
        data: dict[str, tuple[list[dict[str, float]], list[str]]] = defaultdict(lambda: ([], []))
        for t in texts:
            for i, (r, g) in enumerate(zip(t.raw, t.gold, strict=True)):
                key = r.lower()
                if key in ambiguous and forms[key][g] >= self.min_minority:
                    data[key][0].append(context_features(t.raw, i))
                    data[key][1].append(g)
        self.models_: dict[str, _Linear] = {}
        for key, (xs, ys) in data.items():
            dv = DictVectorizer()
            x = dv.fit_transform(xs)
            lr = LogisticRegression(C=self.c, max_iter=200).fit(x, ys)
            coef = np.asarray(lr.coef_, dtype=np.float64)
            intercept = np.asarray(lr.intercept_, dtype=np.float64)
            classes = tuple(str(c) for c in lr.classes_)
            if len(classes) == 2:  # binary LR keeps one row: score(class 1) - score(class 0)
                coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
                intercept = np.array([0.0, intercept[0]])
            weights = {name: coef[:, j].copy() for name, j in dv.vocabulary_.items()}
            self.models_[key] = _Linear(classes, intercept, weights)
        return self

    def predict(self, tokens: Sequence[str], i: int) -> str | None:
        """The normalisation of ``tokens[i]`` in context, or None when the token has no classifier."""
        model = self.models_.get(tokens[i].lower())
        if model is None:
            return None
        return model.predict(context_features(tokens, i))
