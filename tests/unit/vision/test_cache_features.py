"""Feature cache: a second extraction of the same images recomputes nothing and returns the same features."""

from __future__ import annotations

import hashlib
import io
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.cache import FeatureCache
from assetgrade.modalities.vision.features import extract_pooled
from assetgrade.store.records import ImageRef


def _ref(name: str, data: bytes) -> ImageRef:
    return ImageRef(evidence_id=name, sha256=hashlib.sha256(data).hexdigest(), load_bytes=partial(lambda d: d, data))


def _img(rng: np.random.Generator) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_cache_hit_avoids_recompute(backbone64: Backbone, tmp_path: Path, rng: np.random.Generator) -> None:
    refs = [_ref(f"img{i}", _img(rng)) for i in range(3)] + [_ref("broken", b"not an image")]
    cache = FeatureCache(tmp_path)
    first = extract_pooled(refs, backbone64, cache=cache)
    assert first.computed == 3
    assert set(first.errors) == {3} and "broken" in first.errors[3]
    assert np.isnan(first.features[3]).all() and np.isfinite(first.features[:3]).all()
    second = extract_pooled(refs, backbone64, cache=cache)
    assert second.computed == 0  # nothing recomputed for the three good images
    assert np.array_equal(second.features[:3], first.features[:3])
    other_view = extract_pooled(refs[:1], backbone64, cache=cache, view="hflip")
    assert other_view.computed == 1  # the view is part of the key
    key = f"{backbone64.key}/id"
    cache.put_many(key, [refs[0].sha256], np.full((1, backbone64.feature_dim), np.nan, np.float32))  # damaged
    third = extract_pooled(refs[:1], backbone64, cache=cache)
    assert third.computed == 1 and np.array_equal(third.features[0], first.features[0])


def test_cache_keys_are_validated(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    with pytest.raises(ValidationError, match="sha256"):
        cache.put_many("k", ["xyz"], np.zeros((1, 2), np.float32))
    with pytest.raises(ValidationError, match="bad cache key"):
        cache.get_many("../escape", ["a" * 64])


def test_corrupt_cache_entry_is_a_miss(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    sha = "c" * 64
    cache.put_many("k", [sha], np.ones((1, 4), np.float32))
    path = next(tmp_path.rglob("*.npy"))
    for damaged in (b"garbage", b""):  # b"": the data of a write lost in a crash
        path.write_bytes(damaged)
        found, missing = cache.get_many("k", [sha])
        assert found == [None] and missing == [0]


def test_an_image_edited_after_listing_is_not_cached_under_its_old_hash(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    from assetgrade.datasets.image_folder import image_ref_from_file

    path = tmp_path / "part.png"
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    ref = image_ref_from_file(path)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)  # edited in place
    cache = FeatureCache(tmp_path / "features")
    fb = extract_pooled([ref], backbone64, cache=cache)
    assert "changed since" in fb.errors[0] and np.isnan(fb.features[0]).all()
    assert not list((tmp_path / "features").rglob("*.npy"))  # nothing stored under the old content's hash


def test_a_damaged_evidence_entry_is_replaced_when_recomputed(tmp_path: Path) -> None:
    from assetgrade.modalities.vision.evidence_cache import EvidenceCache, ImageEvidence, clear_memory_cache
    from assetgrade.modalities.vision.quality import QualityReport

    sha = "cd" * 32
    ev = ImageEvidence(np.ones(3, np.float32), (np.zeros((2, 1, 1), np.float32),), np.zeros((1, 1, 2), np.float32),
                       (64, 64), QualityReport(10.0, 120.0, 0.0, 0.0, 0.0, 64))
    cache = EvidenceCache(tmp_path, "k")
    path = tmp_path / "evidence" / "k" / sha[:2] / f"{sha}.npz"
    for damaged in (b"PK\x03\x04 torn write", b""):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(damaged)
        clear_memory_cache()
        assert cache.get(sha) is None
    cache.put(sha, ev)  # the recomputed evidence
    clear_memory_cache()  # a new process: only the disk is left
    again = cache.get(sha)
    assert again is not None and again.size == (64, 64)
    bad = ImageEvidence(np.full(3, np.nan, np.float32), ev.cam_maps, ev.patches, ev.size, ev.quality)
    path.unlink()
    cache.put(sha, bad)
    clear_memory_cache()
    assert cache.get(sha) is None and not path.exists()  # NaN features are damage, not evidence


def test_an_evidence_cache_that_cannot_be_written_is_only_slower(tmp_path: Path) -> None:
    from assetgrade.modalities.vision.evidence_cache import EvidenceCache, ImageEvidence, clear_memory_cache
    from assetgrade.modalities.vision.quality import QualityReport

    (tmp_path / "evidence").write_text("a file where the cache folder should be")
    ev = ImageEvidence(np.ones(3, np.float32), (np.zeros((2, 1, 1), np.float32),), np.zeros((1, 1, 2), np.float32),
                       (64, 64), QualityReport(10.0, 120.0, 0.0, 0.0, 0.0, 64))
    clear_memory_cache()
    cache = EvidenceCache(tmp_path, "k")
    cache.put("ef" * 32, ev)
    assert cache.get("ef" * 32) is ev  # still remembered in process


def test_a_damaged_entry_in_a_cache_that_cannot_be_written_is_a_miss(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a shared read-only cache (another user's files): the damaged entry cannot be removed; still only a miss
    from assetgrade.modalities.vision.evidence_cache import EvidenceCache, clear_memory_cache

    sha = "ab" * 32
    path = tmp_path / "evidence" / "k" / sha[:2] / f"{sha}.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 torn write")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    clear_memory_cache()
    assert EvidenceCache(tmp_path, "k").get(sha) is None
    assert path.exists()


def test_two_writers_of_one_entry_in_one_process_both_succeed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.modalities.vision import cache as cache_module

    cache = FeatureCache(tmp_path)
    sha = "d" * 64
    real_save = np.save
    nested: list[bool] = []

    def interleaved(fh: object, arr: np.ndarray, **kw: object) -> None:
        if not nested:  # another thread stores the same image while this write is under way
            nested.append(True)
            cache.put_many("k", [sha], np.full((1, 4), 2.0, np.float32))
        real_save(fh, arr, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_module.np, "save", interleaved)
    cache.put_many("k", [sha], np.ones((1, 4), np.float32))
    found, missing = cache.get_many("k", [sha])
    assert not missing and found[0] is not None and found[0].tolist() in ([1.0] * 4, [2.0] * 4)
    assert not list(tmp_path.rglob("*.tmp"))


def test_each_photo_is_reduced_before_the_next_is_decoded(
    backbone64: Backbone, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgrade.modalities.vision import features

    log: list[str] = []
    real_decode, real_preprocess = features.decode_image, features.preprocess
    monkeypatch.setattr(features, "decode_image", lambda d, **kw: log.append("decode") or real_decode(d, **kw))
    monkeypatch.setattr(features, "preprocess", lambda im, s: log.append("reduce") or real_preprocess(im, s))
    refs = [_ref(f"img{i}", _img(rng)) for i in range(3)]
    fb = extract_pooled(refs, backbone64, batch_size=2)
    assert fb.computed == 3 and log == ["decode", "reduce"] * 3  # never a batch of decoded photos held at once
