"""First level of the Grader's training: per-modality out-of-fold evidence and the training manifest hash.

For stacking (Wolpert 1992) the fusion model must learn from evidence that never saw the asset's
own label: each extractor is fitted on K-1 grouped folds and extracts the held-out fold
(groups keep every asset, or every asset sharing a source, on one side). The deployed extractor
is then fitted on all labelled assets; the out-of-fold blocks are aligned to its feature layout
by column name, so the fusion model reads the same columns at training and grading time.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.fusion import grouped_folds
from assetgrade.grading.cache import modality_input_hash, share_memos
from assetgrade.modalities.base import EvidenceBlock, Extractor, available_extractors, fit_extractor, get_extractor
from assetgrade.store.records import AssetRecord

__all__ = [
    "BUILTIN_EXTRACTORS",
    "ExtractorFactory",
    "align_block",
    "ensure_builtin_extractors",
    "extractor_factory",
    "feature_names_of",
    "file_hashes",
    "linked_groups",
    "linked_units",
    "manifest_hash",
    "out_of_fold_block",
    "shared_with_training",
]

ExtractorFactory = Callable[[], Extractor]
Progress = Callable[[str], None]
BUILTIN_EXTRACTORS: tuple[str, ...] = ("vision", "text", "sensors")


def ensure_builtin_extractors() -> list[str]:
    """Import the shipped modality packages (which registers their extractors); returns the registered names."""
    import importlib

    from assetgrade.modalities.base import available_extractors

    for name in BUILTIN_EXTRACTORS:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"assetgrade.modalities.{name}")
    return available_extractors()


def manifest_hash(records: Sequence[AssetRecord], labels: Sequence[str | None]) -> str:
    """sha256 over the sorted asset ids, each asset's evidence hashes and its label."""
    rows = sorted(
        (r.asset_id, [modality_input_hash(r, m) for m in ("vision", "text", "sensors")], lab)
        for r, lab in zip(records, labels, strict=True)
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode("utf-8")).hexdigest()


def file_hashes(record: AssetRecord) -> list[str]:
    """The content hashes (sha256) of an asset's image and series files: what two assets can hold identically.

    Training links assets holding one of these in one fold (:func:`linked_groups`), a calibration asset
    holding one of a training asset's is not held out (:func:`shared_with_training`), and out-of-sample
    scoring does not count an asset holding one the grader learned from (``Grader.train_files_``). Log
    texts are left out: template entries are shared by unrelated assets.

    >>> from assetgrade.store.records import ImageRef, SeriesRef
    >>> file_hashes(AssetRecord("a", images=(ImageRef("i", "s1", bytes),), series=(SeriesRef("s", "s2", bytes),)))
    ['s1', 's2']
    """
    return [*(i.sha256 for i in record.images), *(s.sha256 for s in record.series)]


def linked_units(units: Sequence[str], keys: Sequence[str]) -> list[str]:
    """Per item (a unit and a key, such as an asset and one of its files' sha256), the first-seen unit
    of its connected set, two units linked when they hold an item with the same key (union-find with
    path halving; Tarjan 1975). The unit seen first names its set, so units that share no key keep
    their names.

    >>> linked_units(["a", "a", "b", "c"], ["1", "2", "2", "3"])
    ['a', 'a', 'a', 'c']
    """
    units = list(units)
    first_seen = {u: k for k, u in reversed(list(enumerate(units)))}
    parent: dict[str, str] = {}

    def root(u: str) -> str:
        while parent.setdefault(u, u) != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    owner: dict[str, str] = {}
    for u, key in zip(units, keys, strict=True):
        ra, rb = root(u), root(owner.setdefault(key, u))
        if ra != rb:
            keep, other = (ra, rb) if first_seen[ra] < first_seen[rb] else (rb, ra)
            parent[other] = keep
    return [root(u) for u in units]


def linked_groups(records: Sequence[AssetRecord], groups: Sequence[str]) -> list[str]:
    """Per record, its group joined with every group that holds an identical image or series file.

    Grouped folds keep a group on one side; an asset holding the same photo or series file (same
    sha256) as an asset of another group would put that file, with its label, on both sides of a
    split, and the out-of-fold evidence of a memorising extractor (a nearest neighbour, a
    PatchCore bank) would read its own training label back. Each joined set is named by its
    first-seen group, so groups that share no file keep their names (and their folds). Log texts
    do not link: template entries ("routine inspection done") are shared by unrelated assets; pass
    ``groups`` to keep assets with shared histories together.

    >>> from assetgrade.store.records import ImageRef
    >>> pairs = (("a", "1"), ("b", "2"), ("c", "1"))
    >>> r = [AssetRecord(a, images=(ImageRef(f"{a}-i", sha, bytes),)) for a, sha in pairs]
    >>> linked_groups(r, ["a", "b", "c"])
    ['a', 'b', 'a']
    """
    units: list[str] = []
    keys: list[str] = []
    for rec, g in zip(records, groups, strict=True):
        # the group itself first (under a key no file hash can equal), so a group without files counts too
        for key in ("\0group\0" + g, *file_hashes(rec)):
            units.append(g)
            keys.append(key)
    root = dict(zip(units, linked_units(units, keys), strict=True))
    return [root[g] for g in groups]


def shared_with_training(train: Sequence[AssetRecord], train_groups: Sequence[str] | None,
                         held: Sequence[AssetRecord], held_groups: Sequence[str] | None) -> list[str]:
    """What ties held-out (calibration) assets to the training assets: one line per such asset, empty when none.

    A calibration asset that was also trained on (the same id), that holds a training asset's
    image or series file, or whose group is a training asset's (both groups given), is not held out: the deployed
    model's outputs on it are in-sample, and split conformal's guarantee and the reported figures
    rest on their not being.
    """
    ids = {r.asset_id for r in train}
    files = {sha: r.asset_id for r in train for sha in file_hashes(r)}
    named = set(train_groups or ())
    out = []
    for k, r in enumerate(held):
        if r.asset_id in ids:
            out.append(f"{r.asset_id} (a training asset)")
        elif (sha := next((x for x in file_hashes(r) if x in files), None)) is not None:
            out.append(f"{r.asset_id} (holds the file {sha[:12]} of training asset {files[sha]})")
        elif held_groups is not None and held_groups[k] in named:  # empty unless both were given
            out.append(f"{r.asset_id} (in training group {held_groups[k]!r})")
    return out


def extractor_factory(spec: str | Extractor, settings: Mapping[str, Any] | None = None) -> tuple[str, ExtractorFactory]:
    """(modality name, factory of fresh unfitted extractors) for a registered name or an extractor instance.

    An instance is deep-copied for every fold (so pass it unfitted); a name is built with
    :func:`~assetgrade.modalities.base.get_extractor` and ``settings``.
    """
    if isinstance(spec, str):
        # importing the modality package registers its extractor
        import importlib

        with contextlib.suppress(ImportError):
            importlib.import_module(f"assetgrade.modalities.{spec}")
        if spec not in available_extractors():
            ensure_builtin_extractors()  # so the error lists every shipped name
        kw = dict(settings or {})
        probe = get_extractor(spec, **kw)
        return str(probe.modality), lambda: get_extractor(spec, **kw)
    if not isinstance(spec, Extractor):
        raise ValidationError(f"{spec!r} is neither an extractor name nor an Extractor", where="extractors")
    template = copy.deepcopy(spec)
    return str(spec.modality), lambda: copy.deepcopy(template)


def feature_names_of(extractor: Extractor, block: EvidenceBlock | None = None) -> tuple[str, ...]:
    """A fitted extractor's feature names (from a block it made, else its ``feature_names`` attributes)."""
    if block is not None:
        return tuple(block.feature_names)
    for attr in ("feature_names", "feature_names_"):
        names = getattr(extractor, attr, None)
        if names is not None:
            return tuple(names)
    raise ValidationError(f"cannot tell the feature names of {type(extractor).__name__}", where="extractor")


def align_block(block: EvidenceBlock, names: tuple[str, ...], n_classes: int) -> EvidenceBlock:
    """The block with its columns re-ordered to ``names`` (NaN for columns it lacks)."""
    if tuple(block.feature_names) == names:
        feats = block.features
    else:
        pos = {n: j for j, n in enumerate(block.feature_names)}
        feats = np.full((len(block.asset_ids), len(names)), np.nan)
        for j, n in enumerate(names):
            if n in pos:
                feats[:, j] = block.features[:, pos[n]]
    gp = block.grade_proba
    if gp is not None and gp.shape[1] != n_classes:
        gp = None
    return EvidenceBlock(
        block.modality, list(block.asset_ids), names, np.asarray(feats, dtype=np.float64),
        np.asarray(block.present, dtype=bool), dict(block.findings), dict(block.quality_flags), gp,
    )


def out_of_fold_block(
    make: ExtractorFactory,
    records: Sequence[AssetRecord],
    labels: Sequence[str | None],
    groups: Sequence[str],
    *,
    names: tuple[str, ...],
    n_classes: int,
    n_splits: int,
    seed: int,
    shared: dict[str, Any] | None = None,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> EvidenceBlock:
    """One modality's out-of-fold evidence over ``records``, aligned to the deployed layout ``names``.

    A fold whose extractor cannot be fitted (e.g. one grade only) leaves its held-out assets
    absent for this modality and adds a note; the other folds go on.
    """
    n = len(records)
    feats = np.full((n, len(names)), np.nan)
    present = np.zeros(n, dtype=bool)
    proba = np.full((n, n_classes), np.nan)
    any_proba = False
    findings: dict[str, list[Any]] = {}
    flags: dict[str, list[str]] = {}
    modality = "vision"
    for k, (tr, te) in enumerate(grouped_folds(groups, n_splits, seed)):
        ex = make()
        modality = str(ex.modality)
        if progress is not None:
            progress(f"{modality}: fold {k + 1}/{n_splits}")
        if shared is not None:
            share_memos(ex, shared)
        try:
            fit_extractor(ex, [records[i] for i in tr], [labels[i] for i in tr], [groups[i] for i in tr])
            b = align_block(ex.extract([records[i] for i in te]), names, n_classes)
        except AssetgradeError as exc:
            if notes is not None:
                notes.append(f"{modality} fold {k + 1}: {exc}; its {len(te)} held-out assets count as absent")
            continue
        feats[te] = b.features
        present[te] = b.present
        if b.grade_proba is not None:
            proba[te] = b.grade_proba
            any_proba = True
        findings.update(b.findings)
        flags.update(b.quality_flags)
    feats[~present] = np.nan
    return EvidenceBlock(
        modality,  # type: ignore[arg-type]
        [r.asset_id for r in records], names, feats, present, findings, flags, proba if any_proba else None,
    )
