"""The text extractor: maintenance logs of each asset → fixed-width evidence block, findings, grade distribution.

Features are the :class:`.LogSummarizer` block plus, per grade, the cosine similarity of the
asset's mean log embedding (MiniLM) to the centroid of the assets with that grade in ``fit``.
A text-only grade distribution comes from a logistic regression over those features and the
mean embedding (median-imputed, standardised), trained when ``fit`` sees at least two grades.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality, register_extractor
from assetgrade.modalities.text.embed import DIM, HashingEmbedder, MiniLMEmbedder
from assetgrade.modalities.text.normalize import Normalizer
from assetgrade.modalities.text.summary import LogSummarizer, clean_text
from assetgrade.ontology import Ontology, default_ontology
from assetgrade.store.records import AssetRecord

__all__ = ["TextExtractor"]


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
        Inverse regularisation of the text-only grade classifier.

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
        C: float = 1.0,
    ) -> None:
        if embedder not in ("minilm", "hashing", "none"):
            raise ValidationError(
                f"embedder {embedder!r}; allowed: 'minilm', 'hashing', 'none'", where="TextExtractor.embedder"
            )
        self.ontology = ontology
        self.embedder = embedder
        self.normalizer = normalizer
        self.recurrence_window_days = recurrence_window_days
        self.max_chars = max_chars
        self.C = C

    def _embed(self, records: Sequence[AssetRecord]) -> npt.NDArray[np.float64]:
        out = np.full((len(records), DIM), np.nan)
        if self.embedder == "none":
            return out
        texts = [[clean_text(e.text, self.max_chars)[0] for e in r.logs] for r in records]
        flat = [t for ts in texts for t in ts]
        vecs = self.embedder_.encode(flat) if flat else np.zeros((0, DIM))
        i = 0
        for k, ts in enumerate(texts):
            if ts:
                m = vecs[i : i + len(ts)].mean(axis=0)
                out[k] = m / max(float(np.linalg.norm(m)), 1e-9)
            i += len(ts)
        return out

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None) -> Self:
        """Learn grade centroids and the text-only grade classifier (``grades`` default: ``record.grade``)."""
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
        for g in labels:
            if g is not None and g not in self.grade_names_:
                raise ValidationError(f"grade {g!r} not in the scale {self.grade_names_}", where="TextExtractor.fit")
        present = np.array([bool(r.logs) for r in records])
        emb = self._embed(records)
        self.centroids_: dict[str, npt.NDArray[np.float64]] = {}
        for g in self.grade_names_:
            rows = [i for i, lab in enumerate(labels) if lab == g and present[i] and np.isfinite(emb[i]).all()]
            if rows:
                c = emb[rows].mean(axis=0)
                self.centroids_[g] = c / max(float(np.linalg.norm(c)), 1e-9)
        self.classifier_: Any = None
        train = [i for i, lab in enumerate(labels) if lab is not None and present[i]]
        if len({labels[i] for i in train}) >= 2:
            from sklearn.impute import SimpleImputer
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            x = self._design([records[i] for i in train], emb[train])[0]
            x = np.where(np.isfinite(x), x, np.nan)
            keep = ~np.all(np.isnan(x), axis=0)
            self.keep_ = keep
            self.classifier_ = make_pipeline(
                SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=self.C, max_iter=2000)
            ).fit(x[:, keep], [labels[i] for i in train])
        return self

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.summarizer_.feature_names + tuple(f"sim_{g}" for g in self.grade_names_)

    def _design(
        self, records: Sequence[AssetRecord], emb: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], list[list[Finding]], list[list[str]]]:
        feats = np.full((len(records), len(self.feature_names)), np.nan)
        findings: list[list[Finding]] = []
        flags: list[list[str]] = []
        n_sum = len(self.summarizer_.feature_names)
        for k, r in enumerate(records):
            if not r.logs:
                findings.append([])
                flags.append([])
                continue
            s = self.summarizer_.summarize(r.logs)
            feats[k, :n_sum] = [s.features[n] for n in self.summarizer_.feature_names]
            for j, g in enumerate(self.grade_names_):
                if g in self.centroids_ and np.isfinite(emb[k]).all():
                    feats[k, n_sum + j] = float(emb[k] @ self.centroids_[g])
            findings.append(s.findings)
            flags.append(s.flags)
        design = np.hstack([feats, np.nan_to_num(emb, nan=0.0)])
        return design, findings, flags

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        """Evidence per record; records without logs are NaN rows with ``present`` False."""
        if not hasattr(self, "summarizer_"):
            raise ValidationError("fit the extractor before extract", where="TextExtractor.extract")
        present = np.array([bool(r.logs) for r in records], dtype=bool)
        emb = self._embed(records)
        design, findings, flags = self._design(records, emb)
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
