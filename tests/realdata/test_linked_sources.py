"""The linked benchmark reads its pieces through the data-set loaders, and assembles the same assets as before.

The digests below were computed on the code before the linked benchmark used the loaders (its own
JSON, ``genfromtxt`` and C-MAPSS file readers, at 47ee67d): every asset's ids, types, image bytes
and hashes, texts and dates, series values, and real labels are hashed in record order.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetgrade.datasets.linked import LinkedBenchmark, build_linked
from assetgrade.errors import IngestError


def _digest(bench: LinkedBenchmark) -> str:
    h = hashlib.sha256()
    for rec, lab in zip(bench.records, bench.labels, strict=True):
        h.update(repr((rec.asset_id, rec.asset_type, sorted(rec.attributes.items()), rec.grade)).encode())
        for img in rec.images:
            h.update(repr((img.evidence_id, img.sha256, img.origin)).encode())
            h.update(img.load_bytes())
        for log in rec.logs:
            assert log.date is not None
            h.update(repr((log.evidence_id, log.text, log.date.isoformat(), log.origin,
                           sorted(log.attributes.items()))).encode())
        for ser in rec.series:
            f = ser.load()
            h.update(repr((ser.evidence_id, ser.sha256, ser.origin, list(f.columns), str(f.dtypes.tolist()),
                           f.index.dtype.str)).encode())
            h.update(np.ascontiguousarray(f.index.to_numpy()).tobytes())
            h.update(np.ascontiguousarray(f.to_numpy()).tobytes())
        h.update(repr(lab).encode())
    return h.hexdigest()


@pytest.mark.parametrize(("n_assets", "seed", "options", "expected"), [
    (60, 0, {}, "a7352a3eee1d55d35a0ab63ba76f636376069b9f874ce1ff76e9a0fa93e04e25"),
    (40, 3, {"images_per_asset": 2}, "f97ba9d13c362b2db54b21bfbf3c6e97bffb0e628f901fb25c7cee95a3e5f9d4"),
])
def test_sample_build_is_the_same_as_before_the_loaders(
    n_assets: int, seed: int, options: dict[str, Any], expected: str
) -> None:
    assert _digest(build_linked(n_assets=n_assets, seed=seed, source="sample", **options)) == expected


@pytest.mark.parametrize(("n_assets", "seed", "options", "expected"), [
    (1000, 0, {}, "5acf022bd89edac6e60ea0f524b69638fa841b15535b1861fe00f871d4b5b360"),
    (300, 1, {"cmapss_subsets": ("FD001", "FD002")},
     "242c5dd573ce7b5e571330fc286aeb4f023e706c71441b8ba16f57df28936bf2"),
])
def test_shared_build_is_the_same_as_before_the_loaders(
    shared_data: Path, n_assets: int, seed: int, options: dict[str, Any], expected: str
) -> None:
    bench = build_linked(n_assets=n_assets, seed=seed, source="shared", data_dir=shared_data, **options)
    assert _digest(bench) == expected


def _copy(shared_data: Path, tmp_path: Path) -> Path:
    """A user's copy of the two shared data sets the benchmark reads (C-MAPSS FD001, MaintIE)."""
    (tmp_path / "cmapss").mkdir()
    for name in ("train_FD001.txt.gz", "test_FD001.txt.gz", "RUL_FD001.txt.gz"):
        shutil.copy(shared_data / "cmapss" / name, tmp_path / "cmapss" / name)
    (tmp_path / "maintie" / "data").mkdir(parents=True)
    shutil.copy(shared_data / "maintie" / "data" / "gold_release.json", tmp_path / "maintie" / "data")
    return tmp_path


def test_maintie_copy_with_a_byte_order_mark_builds_the_same(shared_data: Path, tmp_path: Path) -> None:
    # Windows tools write one; load_maintie reads past it, the benchmark's own json.loads did not
    root = _copy(shared_data, tmp_path)
    gold = root / "maintie" / "data" / "gold_release.json"
    gold.write_bytes(b"\xef\xbb\xbf" + gold.read_bytes())
    plain = build_linked(n_assets=30, seed=0, source="shared", data_dir=shared_data)
    assert _digest(build_linked(n_assets=30, seed=0, source="shared", data_dir=root)) == _digest(plain)


def test_malformed_maintie_text_is_named_by_file_and_index(shared_data: Path, tmp_path: Path) -> None:
    root = _copy(shared_data, tmp_path)
    gold = root / "maintie" / "data" / "gold_release.json"
    items = json.loads(gold.read_text(encoding="utf-8"))
    del items[7]["text"]
    gold.write_text(json.dumps(items), encoding="utf-8")
    with pytest.raises(IngestError, match=r"gold_release\.json\[7\]: .*'text'"):
        build_linked(n_assets=30, seed=0, source="shared", data_dir=root)
