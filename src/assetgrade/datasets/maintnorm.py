"""MaintNorm loader: maintenance short texts as (raw token, normalised token) pairs.

The format is the W-NUT normalisation format: one ``token<TAB>normalised`` pair per line,
a blank line between texts. A normalised side may hold several words (``c/o`` → ``change
out``) or be empty (the token was merged into its left neighbour or removed).
Bikaun, Hodkiewicz & Liu, "MaintNorm", W-NUT 2024.
"""

from __future__ import annotations

from pathlib import Path

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import IngestError, NotFoundError, ValidationError
from assetgrade.modalities.text.examples import NormText

__all__ = ["MAINTNORM_SPLITS", "MAINTNORM_SUBSETS", "NormText", "load_maintnorm", "read_norm_file"]

MAINTNORM_SUBSETS = ("combined", "company_a", "company_b", "company_c")
MAINTNORM_SPLITS = ("train", "val", "test")


def read_norm_file(path: Path) -> list[NormText]:
    """Read a ``.norm`` file; a malformed line raises IngestError naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is not part of the first token
    except FileNotFoundError as exc:
        raise NotFoundError(f"normalisation file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(f"not UTF-8: {exc}", where=str(path)) from exc
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror or exc}", where=str(path)) from exc
    texts: list[NormText] = []
    raw: list[str] = []
    gold: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            if raw:
                texts.append(NormText(tuple(raw), tuple(gold)))
                raw, gold = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise IngestError(f"expected 'token<TAB>normalised', got {line!r}", where=f"{path}:{lineno}")
        raw.append(parts[0])
        gold.append(parts[1])
    if raw:
        texts.append(NormText(tuple(raw), tuple(gold)))
    return texts


def load_maintnorm(split: str = "train", subset: str = "combined", data_dir: Path | None = None) -> list[NormText]:
    """Texts of one MaintNorm split (``train``/``val``/``test``) of one subset.

    ``data_dir`` may be the MaintNorm folder itself, its ``data`` folder, or a ``.norm`` file.
    """
    if split not in MAINTNORM_SPLITS:
        raise ValidationError(f"unknown split {split!r}; allowed: {MAINTNORM_SPLITS}", where="split")
    if subset not in MAINTNORM_SUBSETS:
        raise ValidationError(f"unknown subset {subset!r}; allowed: {MAINTNORM_SUBSETS}", where="subset")
    root = dataset_dir("maintnorm", data_dir)
    if root.is_file():
        return read_norm_file(root)
    for base in (root / "data" / subset, root / subset, root):
        f = base / f"{split}.norm"
        if f.exists():
            return read_norm_file(f)
    raise NotFoundError(f"no {split}.norm for subset {subset!r} under {root}")
