"""The text extractor: maintenance logs of each asset → fixed-width evidence block, findings, grade distribution.

Features are the :class:`.LogSummarizer` block plus, per grade, the cosine similarity of the
asset's mean log embedding (MiniLM) to the centroid of the assets with that grade in ``fit``.
A text-only grade distribution comes from a logistic regression over those features and the
mean embedding (median-imputed, standardised), trained when ``fit`` sees at least two grades.
Its L2 strength is chosen per fit by grouped cross-validated log-loss
(:func:`~assetgrade.modalities.penalty.choose_penalty`), the similarity features recomputed
inside each fold so a held-out asset's own grade never shapes its centroid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from assetgrade.blas import serial_blas
from assetgrade.errors import ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality, check_penalty, register_extractor
from assetgrade.modalities.penalty import choose_penalty
from assetgrade.modalities.text.embed import DIM, HashingEmbedder, MiniLMEmbedder
from assetgrade.modalities.text.normalize import Normalizer
from assetgrade.modalities.text.summary import LogSummarizer, check_limits, clean_text
from assetgrade.ontology import Ontology, default_ontology
from assetgrade.store.records import AssetRecord

__all__ = ["TEXT_C_GRID", "TextExtractor"]

_WORD = re.compile(r"[A-Za-z]{2,}")
"""A word the text model can read: the models are trained on English maintenance logs."""

def _compatible(text: str) -> str:
    """Full-width letters (``ＨＹＤ ＨＯＳＥ``, typed with a CJK input method) as the ASCII the models read.

    The summariser finds them already (ontology look-ups fold them); the readability test and the
    embedders did not, so such a log had findings yet was flagged ``no_words``.

    >>> _compatible("ＬＥＡＫ ２mm")
    'LEAK 2mm'
    """
    return unicodedata.normalize("NFKC", text)


TEXT_C_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""L2 strengths (inverse) the text grade classifier chooses from with ``C="auto"``."""


@register_extractor("text")
class TextExtractor:
    """Evidence from maintenance logs, following the Extractor contract.

    Parameters
    ----------
    ontology
        Ontology to read the logs with (default: the built-in one).
    embedder
        ``"minilm"`` (bundled all-MiniLM-L6-v2, offline), ``"hashing"`` (hashed character
        n-grams: lexical only, many times faster) or ``"none"`` (no similarity features).
    normalizer
        Optional fitted :class:`.Normalizer` used before term look-up.
    recurrence_window_days, max_chars
        Passed to :class:`.LogSummarizer`.
    C
        Inverse L2 strength of the text-only grade classifier, or ``"auto"`` (default): chosen
        per fit from :data:`TEXT_C_GRID` by 3-fold stratified log-loss grouped by ``fit``'s
        ``groups`` (each asset its own group when none are given); the choice in ``C_``, the
        losses in ``C_losses_``. With fewer than three groups each group is a fold; below 30
        labelled assets with logs, or with one group, nothing is measured and C = 1. Without
        groups, assets that repeat the same log entries land on both sides of a fold and favour
        a weak penalty: give the groups the Grader has.

    Examples
    --------
    >>> from assetgrade.store.records import LogEntry
    >>> recs = [AssetRecord("a", logs=(LogEntry("e1", "hyd hose leaking"),)), AssetRecord("b")]
    >>> block = TextExtractor(embedder="none").fit(recs).extract(recs)
    >>> block.present.tolist(), block.findings["a"][0].defect
    ([True, False], 'leak')
    """

    modality: Modality = "text"

    def __init__(
        self,
        *,
        ontology: Ontology | None = None,
        embedder: str = "hashing",
        normalizer: Normalizer | None = None,
        recurrence_window_days: float = 90.0,
        max_chars: int = 5000,
        C: float | Literal["auto"] = "auto",
    ) -> None:
        if embedder not in ("minilm", "hashing", "none"):
            raise ValidationError(
                f"embedder {embedder!r}; allowed: 'minilm', 'hashing', 'none'", where="TextExtractor.embedder"
            )
        check_limits(max_chars, recurrence_window_days, "TextExtractor")
        if normalizer is not None and not callable(getattr(normalizer, "normalize_tokens", None)):
            raise ValidationError(f"normalizer={normalizer!r}; a fitted Normalizer or None",
                                  where="TextExtractor.normalizer")
        self.ontology = ontology
        self.embedder = embedder
        self.normalizer = normalizer
        self.recurrence_window_days = recurrence_window_days
        self.max_chars = max_chars
        check_penalty(C, "TextExtractor")
        self.C = C

    def _embed(self, records: Sequence[AssetRecord]) -> npt.NDArray[np.float64]:
        out = np.full((len(records), DIM), np.nan)
        if self.embedder == "none":
            return out
        texts = [[_compatible(clean_text(e.text, self.max_chars)[0]) for e in r.logs] for r in records]
        flat = [t for ts in texts for t in ts]
        vecs = self.embedder_.encode(flat) if flat else np.zeros((0, DIM))
        i = 0
        for k, ts in enumerate(texts):
            if ts:
                m = vecs[i : i + len(ts)].mean(axis=0)
                out[k] = m / max(float(np.linalg.norm(m)), 1e-9)
            i += len(ts)
        return out

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None, *,
            groups: Sequence[Any] | None = None) -> Self:
        """Learn grade centroids and the text-only grade classifier (``grades`` default: ``record.grade``).

        ``groups``: one label per record for choosing ``C`` (records sharing a group never fall
        on both sides of a fold); default: each asset its own group.
        """
        self.ontology_ = self.ontology or default_ontology()
        self.grade_names_: tuple[str, ...] = tuple(self.ontology_.grades.names)
        self.summarizer_ = LogSummarizer(
            self.ontology_,
            normalizer=self.normalizer,
            recurrence_window_days=self.recurrence_window_days,
            max_chars=self.max_chars,
        )
        self.embedder_: Any = {"minilm": MiniLMEmbedder, "hashing": HashingEmbedder}.get(self.embedder, lambda: None)()
        labels = list(grades) if grades is not None else [r.grade for r in records]
        if len(labels) != len(records):
            raise ValidationError(f"{len(labels)} grades for {len(records)} records", where="TextExtractor.fit")
        if groups is not None and len(groups) != len(records):
            raise ValidationError(f"{len(groups)} groups for {len(records)} records", where="TextExtractor.fit")
        for g in labels:
            if g is not None and g not in self.grade_names_:
                raise ValidationError(f"grade {g!r} not in the scale {self.grade_names_}", where="TextExtractor.fit")
        present = self._readable(records)  # as extract sees them: logs without a word are no evidence
        emb = self._embed(records)
        y = np.array([self.grade_names_.index(g) if g is not None else -1 for g in labels], dtype=np.int64)
        self.centroids_ = self._centroids(emb, y, present)
        self.classifier_: Any = None
        self.C_: float | None = None
        self.C_losses_: dict[float, float] = {}
        train = np.array([i for i, lab in enumerate(labels) if lab is not None and present[i]], dtype=np.int64)
        if len({labels[i] for i in train}) >= 2:
            summ, _, _ = self._summaries([records[i] for i in train])
            e, yt = emb[train], y[train]
            x = self._design(summ, e, self.centroids_)
            x = np.where(np.isfinite(x), x, np.nan)
            self.keep_ = ~np.all(np.isnan(x), axis=0)
            if self.C == "auto":
                designs: dict[bytes, npt.NDArray[np.float64]] = {}  # one design per fold, shared by the grid

                def fit_predict(tr: npt.NDArray[np.int64], te: npt.NDArray[np.int64], C: float) -> npt.NDArray[Any]:
                    fold = tr.tobytes()
                    if fold not in designs:
                        cents = self._centroids(e[tr], yt[tr], np.ones(len(tr), dtype=bool))
                        xf = self._design(summ, e, cents)
                        designs[fold] = np.where(np.isfinite(xf), xf, np.nan)[:, self.keep_]
                    xs = designs[fold]
                    model = self._new_classifier(C).fit(xs[tr], yt[tr])
                    out = np.zeros((len(te), len(self.grade_names_)))
                    out[:, model.classes_] = model.predict_proba(xs[te])
                    return out

                grp = [groups[i] for i in train] if groups is not None else [records[i].asset_id for i in train]
                self.C_, self.C_losses_ = choose_penalty(fit_predict, yt, groups=grp, grid=TEXT_C_GRID, fallback=1.0)
            else:
                self.C_ = float(self.C)
            with serial_blas():  # as the search's fits: one BLAS thread was never slower (docs/performance.md)
                self.classifier_ = self._new_classifier(self.C_).fit(x[:, self.keep_], [labels[i] for i in train])
        return self

    @staticmethod
    def _new_classifier(C: float) -> Any:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    def _centroids(self, emb: npt.NDArray[np.float64], y: npt.NDArray[np.int64],
                   present: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[np.float64]]:
        """Unit-length mean embedding of the assets of each grade (``y`` index, -1: unknown)."""
        out: dict[str, npt.NDArray[np.float64]] = {}
        ok = present & np.isfinite(emb).all(axis=1)
        for j, g in enumerate(self.grade_names_):
            rows = ok & (y == j)
            if rows.any():
                c = emb[rows].mean(axis=0)
                out[g] = c / max(float(np.linalg.norm(c)), 1e-9)
        return out

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.summarizer_.feature_names + tuple(f"sim_{g}" for g in self.grade_names_)

    def _summaries(
        self, records: Sequence[AssetRecord]
    ) -> tuple[npt.NDArray[np.float64], list[list[Finding]], list[list[str]]]:
        """The summariser's feature block (NaN rows for records without logs), findings and flags."""
        names = self.summarizer_.feature_names
        feats = np.full((len(records), len(names)), np.nan)
        findings: list[list[Finding]] = []
        flags: list[list[str]] = []
        for k, r in enumerate(records):
            if not r.logs:
                findings.append([])
                flags.append([])
                continue
            s = self.summarizer_.summarize(r.logs)
            feats[k] = [s.features[n] for n in names]
            findings.append(s.findings)
            flags.append(s.flags)
        return feats, findings, flags

    def _design(self, summ: npt.NDArray[np.float64], emb: npt.NDArray[np.float64],
                centroids: dict[str, npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
        """Summary features, the similarity to each grade's centroid, then the embedding (NaN → 0)."""
        sims = np.full((len(summ), len(self.grade_names_)), np.nan)
        ok = np.isfinite(emb).all(axis=1) & np.isfinite(summ).any(axis=1)
        for j, g in enumerate(self.grade_names_):
            if g in centroids:
                sims[ok, j] = emb[ok] @ centroids[g]
        return np.hstack([summ, sims, np.nan_to_num(emb, nan=0.0)])

    def _readable(self, records: Sequence[AssetRecord]) -> npt.NDArray[np.bool_]:
        """Per record: has it a log entry with a word the text model reads, once cleaned (HTML tags blanked)?"""
        return np.array([any(_WORD.search(_compatible(clean_text(e.text, self.max_chars)[0])) for e in r.logs)
                         for r in records], dtype=bool)

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        """Evidence per record; records without logs, or whose logs hold no word of two or more Latin letters
        (empty, punctuation, ``n/a``, another script), are NaN rows with ``present`` False and a ``no_words`` flag."""
        if not hasattr(self, "summarizer_"):
            raise ValidationError("fit the extractor before extract", where="TextExtractor.extract")
        present = self._readable(records)
        emb = self._embed(records)
        summ, findings, flags = self._summaries(records)
        for k, r in enumerate(records):
            if r.logs and not present[k]:  # "", "!!!", "n/a", another script: no evidence, not "no defects"
                flags[k] = [*flags[k], "no_words: no log entry has a word the text model reads (English)"]
        design = self._design(summ, emb, self.centroids_)
        n_feat = len(self.feature_names)
        features = design[:, :n_feat].copy()
        features[~present] = np.nan
        proba = None
        if self.classifier_ is not None:
            proba = np.full((len(records), len(self.grade_names_)), np.nan)
            if present.any():
                x = np.where(np.isfinite(design[present]), design[present], np.nan)[:, self.keep_]
                p = self.classifier_.predict_proba(x)
                cols = [self.grade_names_.index(c) for c in self.classifier_.classes_]
                sub = np.zeros((int(present.sum()), len(self.grade_names_)))
                sub[:, cols] = p
                proba[present] = sub
        ids = [r.asset_id for r in records]
        return EvidenceBlock(
            modality="text",
            asset_ids=ids,
            feature_names=self.feature_names,
            features=features,
            present=present,
            findings={i: f for i, f in zip(ids, findings, strict=True) if f},
            quality_flags={i: fl for i, fl in zip(ids, flags, strict=True) if fl},
            grade_proba=proba,
        )
