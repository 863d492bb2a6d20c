"""The registered vision extractor on tiny real-pixel records: contract, absent assets, findings with regions."""

from __future__ import annotations

import hashlib
import io
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.modalities.base import Extractor, get_extractor
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.store.records import AssetRecord, ImageRef


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _image(rng: np.random.Generator, scratched: bool, k: int, blur: float = 0.0) -> ImageRef:
    arr = (128 + rng.normal(0, 12, (64, 64))).clip(0, 255).astype(np.uint8)
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
    if scratched:
        arr[40:44, 8:56] = 250
        boxes = (("scratch", (8.0, 40.0, 56.0, 44.0)),)
    rgb = np.stack([arr] * 3, axis=-1)
    if blur:
        from PIL import ImageFilter

        rgb = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(blur)))
    data = _png(rgb)
    return ImageRef(f"img{k}", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data), boxes=boxes)


class _CountingBackbone:
    """The real backbone, counting the images it is asked to run (in ``calls``)."""

    def __init__(self, inner: Backbone, calls: list[int]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def run(self, batch: np.ndarray, **kw: object) -> object:
        self._calls.append(len(batch))
        return self._inner.run(batch, **kw)


def _records(rng: np.random.Generator) -> list[AssetRecord]:
    recs = []
    for i in range(16):
        bad = i % 2 == 1
        recs.append(AssetRecord(f"a{i}", images=(_image(rng, bad, i),), grade="D" if bad else "A"))
    return recs


def test_vision_extractor_contract(tmp_path: Path, backbone64: Backbone, rng: np.random.Generator) -> None:
    ex = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=200)
    ex._backbone = backbone64  # type: ignore[attr-defined]  # share the session's exported graph
    assert isinstance(ex, Extractor) and ex.modality == "vision"
    train = _records(rng)
    ex.fit(train)
    test = [
        *_records(rng)[:4],
        AssetRecord("no-images"),
        AssetRecord("broken", images=(ImageRef("bad", "0" * 64, lambda: b"garbage"),)),
    ]
    block = ex.extract(test)
    assert block.features.shape == (6, len(block.feature_names))
    assert block.present.tolist() == [True, True, True, True, False, False]
    assert np.isnan(block.features[4]).all() and np.isnan(block.grade_proba[4]).all()  # type: ignore[index]
    assert any("unreadable" in f for f in block.quality_flags["broken"])
    proba = block.grade_proba
    assert proba is not None and np.allclose(proba[:4].sum(axis=1), 1.0)
    # scratched assets (odd) are graded worse than clean ones (even)
    expected = proba[:4] @ np.arange(4)
    assert expected[1] > expected[0] and expected[3] > expected[2]
    scratch = [f for f in block.findings["a1"] if f.defect == "scratch"]
    assert scratch and scratch[0].region is not None and scratch[0].evidence_id == "img1"
    assert not [f for f in block.findings["a0"] if f.defect == "scratch"]
    assert any(p.suffix == ".npz" for p in (tmp_path / "evidence").rglob("*"))  # evidence was cached on disk


def test_refit_reads_cached_evidence_instead_of_running_the_backbone(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    from assetgrade.modalities.vision import evidence_cache

    calls: list[int] = []
    evidence_cache.clear_memory_cache()  # start from a cold process-wide memo
    train = _records(rng)
    first = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=200)
    first._backbone = _CountingBackbone(backbone64, calls)  # type: ignore[attr-defined]
    p1 = first.fit(train).extract(train).grade_proba
    n_views = 1 + len(first.augment)  # the photo and each augment view (hflip, vflip) pass the backbone
    assert n_views == 3
    assert sum(calls) == n_views * len(train)  # each image once per view, though fit and extract both look at it
    evidence_cache.clear_memory_cache()  # a new process: only the disk cache remains
    second = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=200)
    second._backbone = _CountingBackbone(backbone64, calls)  # type: ignore[attr-defined]
    p2 = second.fit(train).extract(train).grade_proba
    assert sum(calls) == n_views * len(train)  # nothing recomputed, augment views included
    assert p1 is not None and p2 is not None and np.allclose(p1, p2)


def test_extract_before_fit_and_bad_grades_are_refused(rng: np.random.Generator) -> None:
    ex = get_extractor("vision", image_size=64, grades=("A", "B"))
    with pytest.raises(ValidationError, match="before fit"):
        ex.extract([AssetRecord("x")])
    with pytest.raises(ValidationError, match="unknown grade"):
        ex.fit([AssetRecord("x", images=(_image(rng, False, 0),), grade="Z")])


def test_assets_with_several_photos_train_the_mil_head(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    # every worn asset has one scratched photo and two clean ones; clean assets three clean photos
    recs = []
    for i in range(12):
        bad = i % 2 == 1
        photos = (_image(rng, bad, 3 * i), _image(rng, False, 3 * i + 1), _image(rng, False, 3 * i + 2))
        recs.append(AssetRecord(f"m{i}", images=photos, grade="D" if bad else "A"))
    kw = {"image_size": 64, "grades": ("A", "B", "C", "D"), "cache_dir": tmp_path, "coreset_size": 200, "C": 0.5}
    mil = get_extractor("vision", **kw)
    plain = get_extractor("vision", mil=False, **kw)
    for ex in (mil, plain):
        ex._backbone = backbone64  # type: ignore[attr-defined]
        ex.fit(recs)
    assert mil.mil_ and mil.mil_rounds_ >= 1 and not plain.mil_  # type: ignore[attr-defined]
    # the MIL head reads the clean photos of worn assets as clean; the plain head learned them as worn
    clean_of_worn = [r.images[1] for r in recs if r.grade == "D"]
    seen, _ = mil._see(clean_of_worn)  # type: ignore[attr-defined]
    X = np.stack([e.pooled for e in seen if e is not None])
    level = {name: ex.grade_head_.predict_proba(X) @ np.arange(4) for name, ex in (("mil", mil), ("plain", plain))}
    assert level["mil"].mean() < level["plain"].mean() - 0.5
    block = mil.extract(recs)
    assert block.grade_proba is not None and np.allclose(block.grade_proba.sum(axis=1), 1.0)
    expected = block.grade_proba @ np.arange(4)
    assert expected[1::2].min() > expected[0::2].max()  # still tells worn assets from clean ones
    single = get_extractor("vision", **kw)
    single._backbone = backbone64  # type: ignore[attr-defined]
    assert not single.fit(_records(rng)).mil_  # type: ignore[attr-defined]  # one photo each: plain
    with pytest.raises(ValidationError, match="mil='yes'"):
        get_extractor("vision", mil="yes", **kw)


def test_grade_head_setting_chooses_the_head(tmp_path: Path, backbone64: Backbone, rng: np.random.Generator) -> None:
    from assetgrade.grading.report import image_heatmap
    from assetgrade.modalities.vision.heads import LinearProbe, OrdinalLogistic

    train = _records(rng)
    kw = {"image_size": 64, "grades": ("A", "B", "C", "D"), "cache_dir": tmp_path, "coreset_size": 200}
    fitted = {}
    for setting in ("logistic", "ordinal", "auto"):
        ex = get_extractor("vision", grade_head=setting, **kw)
        ex._backbone = backbone64  # type: ignore[attr-defined]
        fitted[setting] = ex.fit(train)
    assert isinstance(fitted["logistic"].grade_head_, LinearProbe)  # type: ignore[attr-defined]
    assert fitted["logistic"].grade_head_kind_ == "logistic"  # type: ignore[attr-defined]
    assert isinstance(fitted["ordinal"].grade_head_, OrdinalLogistic)  # type: ignore[attr-defined]
    # 16 images are too few to measure: "auto" keeps the ordinal head and says nothing was measured
    assert fitted["auto"].grade_head_kind_ == "ordinal"  # type: ignore[attr-defined]
    assert fitted["auto"].head_losses_ == {"ordinal": {}, "logistic": {}}  # type: ignore[attr-defined]
    block = fitted["logistic"].extract(train)
    expected = block.grade_proba @ np.arange(4)  # type: ignore[operator]
    assert expected[1::2].min() > expected[0::2].max()  # worn assets still read worse than clean ones
    # the grade heat map of a multinomial head is that of its severity direction
    anomaly_free = fitted["logistic"]
    anomaly_free.anomaly_ = None  # type: ignore[attr-defined]
    _, heat, what = image_heatmap(anomaly_free, train[1].images[0])
    assert heat is not None and what == "grade class-activation map"
    # a large photo gets a map of at most MAX_HEATMAP_SIDE pixels with its aspect, not one float per pixel
    import base64
    import io

    from PIL import Image

    from assetgrade.grading.report import MAX_HEATMAP_SIDE, _overlay_b64

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (1500, 3000, 3), dtype=np.uint8)).save(buf, format="JPEG")
    big = ImageRef("big", "1" * 64, lambda: buf.getvalue())
    assert fitted["ordinal"].anomaly_ is not None  # type: ignore[attr-defined]
    for model in (fitted["ordinal"], anomaly_free):  # anomaly map, then the grade CAM
        img, heat, _ = image_heatmap(model, big)
        assert img.size == (3000, 1500) and heat is not None and heat.shape == (MAX_HEATMAP_SIDE // 2, MAX_HEATMAP_SIDE)
        shown = Image.open(io.BytesIO(base64.b64decode(_overlay_b64(img, heat, [(0, 0, 1500, 750)]))))
        assert shown.size == (360, 180)
    with pytest.raises(ValidationError, match="grade_head='tree'"):
        get_extractor("vision", grade_head="tree", **kw)
    from assetgrade.grader_factory import check_grader_settings

    problems = check_grader_settings({"extractor_settings": {"vision": {"grade_head": "tree"}}})
    assert any("grade_head='tree'" in p for p in problems)


def test_quality_factors_are_learned_from_out_of_fold_predictions(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    # half of each grade blurred: still readable (the scratch stays)
    recs = [AssetRecord(f"q{i}", images=(_image(rng, i % 2 == 1, i, blur=1.5 if i % 4 >= 2 else 0.0),),
                        grade="D" if i % 2 == 1 else "A") for i in range(72)]
    kw = {"image_size": 64, "grades": ("A", "B", "C", "D"), "cache_dir": tmp_path, "coreset_size": 200, "C": 0.5}
    learned = get_extractor("vision", **kw)
    fixed = get_extractor("vision", quality_factors="fixed", **kw)
    for ex in (learned, fixed):
        ex._backbone = backbone64  # type: ignore[attr-defined]
        ex.fit(recs)
    assert learned.flag_counts_.get("blurry") == 36  # type: ignore[attr-defined]
    assert learned.flag_factors_["blurry"] > 0.9 > fixed.flag_factors_["blurry"] == 0.6  # type: ignore[attr-defined]
    col = learned.feature_names.index("worst_quality_factor")  # type: ignore[attr-defined]
    blurred = [r for i, r in enumerate(recs) if i % 4 >= 2][:2]
    for ex, want in ((learned, learned.flag_factors_["blurry"]), (fixed, 0.6)):  # type: ignore[attr-defined]
        block = ex.extract(blurred)
        assert block.features[:, col] == pytest.approx([want, want])
        assert block.grade_proba is not None
    sharper = learned.extract(blurred).grade_proba.max(axis=1)  # type: ignore[union-attr]
    flatter = fixed.extract(blurred).grade_proba.max(axis=1)  # type: ignore[union-attr]
    assert (sharper > flatter).all()  # the learned factor no longer pulls readable photos toward uniform
    with pytest.raises(ValidationError, match="quality_factors='soft'"):
        get_extractor("vision", quality_factors="soft", **kw)


def _flipped(ref: ImageRef, k: int) -> ImageRef:
    img = Image.open(io.BytesIO(ref.load_bytes())).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    data = _png(np.asarray(img))
    return ImageRef(f"flip{k}", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data))


def test_augmented_views_train_the_heads_and_average_their_predictions(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    from assetgrade.modalities.vision.extractor import DEFAULT_AUGMENT
    from assetgrade.modalities.vision.features import pooled_views
    from assetgrade.modalities.vision.quality import flag_factor, temper

    train = _records(rng)
    kw = {"image_size": 64, "grades": ("A", "B", "C", "D"), "cache_dir": tmp_path, "coreset_size": 200, "C": 0.5}
    fitted = {}
    for name, views in (("vflip", ("vflip",)), ("none", ())):
        ex = get_extractor("vision", augment=views, **kw)
        ex._backbone = backbone64  # type: ignore[attr-defined]
        fitted[name] = ex.fit(train)
    assert get_extractor("vision", **kw).augment == DEFAULT_AUGMENT == ("hflip", "vflip")  # type: ignore[attr-defined]
    photo = train[1].images[0]
    pair = [AssetRecord("orig", images=(photo,)), AssetRecord("flip", images=(_flipped(photo, 1),))]
    with_views = fitted["vflip"].extract(pair).grade_proba
    without = fitted["none"].extract(pair).grade_proba
    assert with_views is not None and without is not None
    # {photo, its vertical flip} is the same set of views for the photo and for its flipped copy
    assert np.allclose(with_views[0], with_views[1], atol=1e-5)
    assert not np.allclose(without[0], without[1], atol=1e-5)  # a single view tells them apart
    # the grade distribution is the head's mean over the photo and its views, then tempered by its flags
    ex = fitted["vflip"]
    ref = train[1].images[0]
    seen = ex._see([ref])[0][0]  # type: ignore[attr-defined]
    flip = pooled_views([ref], backbone64, ("vflip",), cache_root=tmp_path)[0]["vflip"]
    mean = (ex.grade_head_.predict_proba(seen.pooled[None, :]) + ex.grade_head_.predict_proba(flip)) / 2  # type: ignore[attr-defined,union-attr]
    factor = flag_factor(seen.quality.flags, ex.flag_factors_)  # type: ignore[attr-defined,union-attr]
    assert np.allclose(with_views[0], temper(mean, np.array([factor]))[0], atol=1e-6)
    assert any((tmp_path / "features").rglob("*.npy"))  # the views' features were cached on disk
    for bad in (("mirror",), ("hflip", "hflip"), ("id",)):
        with pytest.raises(ValidationError, match="augment="):
            get_extractor("vision", augment=bad, **kw)


def test_extract_runs_the_backbone_over_many_records_at_once(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    """A cold batch goes through the backbone in chunks of images across records, and every record's
    row, flags and findings equal those of extracting it on its own."""
    from assetgrade.modalities.vision import evidence_cache

    calls: list[int] = []
    ex = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path / "fit",
                       coreset_size=200, batch_size=4, augment=("vflip",), C=0.5)
    ex._backbone = backbone64  # type: ignore[attr-defined]
    ex.fit(_records(rng))
    fresh = [r.images[0] for r in _records(np.random.default_rng(20261130))]  # pixels no other test makes
    broken = ImageRef("bad", "0" * 64, lambda: b"garbage")
    test = [
        AssetRecord("two", images=(fresh[0], fresh[1])),
        AssetRecord("none"),
        AssetRecord("broken", images=(broken, fresh[2])),
        *(AssetRecord(f"one{i}", images=(fresh[i],)) for i in range(3, 10)),
    ]
    ex.cache_dir = tmp_path / "cold"  # type: ignore[attr-defined]
    evidence_cache.clear_memory_cache()
    ex._backbone = _CountingBackbone(backbone64, calls)  # type: ignore[attr-defined]
    block = ex.extract(test)
    # 10 readable photos in chunks of at most 4 images, each chunk one pass for the photos and one
    # for their flips: 3 chunks, 6 passes (one photo per pass would be 20)
    assert len(calls) == 6 and sum(calls) == 20
    assert block.present.tolist() == [True, False, True, *[True] * 7]
    assert block.quality_flags["broken"][0].startswith("unreadable:bad")
    assert block.unreadable == {"broken"}  # not kept in the evidence store: read again once repaired

    def gone() -> bytes:
        raise NotFoundError("blob 1111 is not in the blob store")

    lost = ex.extract([AssetRecord("lost", images=(ImageRef("ev-gone", "1" * 64, gone),))])
    assert lost.quality_flags["lost"] == ["unreadable:ev-gone"] and not lost.present[0]
    assert lost.unreadable == {"lost"}
    for i, rec in enumerate(test):
        alone = ex.extract([rec])
        assert np.allclose(alone.features[0], block.features[i], equal_nan=True, atol=1e-6)
        assert alone.quality_flags[rec.asset_id] == block.quality_flags[rec.asset_id]
        assert [f.summary for f in alone.findings[rec.asset_id]] == [f.summary for f in block.findings[rec.asset_id]]


def _copied_sites(rng: np.random.Generator) -> tuple[list[AssetRecord], list[str]]:
    """Eight sites, each photographing its assets with one shared picture; a site's grade is a coin toss."""
    recs, sites = [], []
    for site in range(8):
        pattern = rng.integers(0, 256, (8, 8), dtype=np.uint8).repeat(8, axis=0).repeat(8, axis=1)
        data = _png(np.stack([pattern] * 3, axis=-1))
        sha = hashlib.sha256(data).hexdigest()
        for k in range(6):
            ref = ImageRef(f"s{site}-{k}", sha, partial(lambda d: d, data))
            recs.append(AssetRecord(f"s{site}-a{k}", images=(ref,), grade="AD"[site % 2]))
            sites.append(f"site-{site}")
    return recs, sites


def test_groups_keep_copied_photos_out_of_the_penalty_search(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    # within a site the photos are copies, so folds that split a site score memorised copies; by site
    # nothing carries over to a held-out site and the strongest penalty reads best
    recs, sites = _copied_sites(rng)
    kw = {"image_size": 64, "grades": ("A", "B", "C", "D"), "cache_dir": tmp_path, "coreset_size": 200,
          "grade_head": "logistic", "augment": (), "quality_factors": "fixed"}
    by_asset = get_extractor("vision", **kw)
    by_asset._backbone = backbone64  # type: ignore[attr-defined]
    by_site = get_extractor("vision", **kw)
    by_site._backbone = backbone64  # type: ignore[attr-defined]
    by_asset.fit(recs)
    by_site.fit(recs, groups=sites)
    assert min(by_site.C_losses_) == by_site.C_ and by_asset.C_ > by_site.C_  # type: ignore[attr-defined]
    assert by_asset.C_losses_[by_asset.C_] < by_site.C_losses_[by_site.C_]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="3 groups for 48 records"):
        by_site.fit(recs, groups=sites[:3])


def test_finding_regions_of_a_large_photo_use_a_bounded_map(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgrade.modalities.vision import extractor as extractor_module
    from assetgrade.modalities.vision import heatmaps

    ex = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=200)
    ex._backbone = backbone64  # type: ignore[attr-defined]
    ex.fit(_records(rng))
    small = _image(rng, True, 99)
    big = np.asarray(Image.open(io.BytesIO(small.load_bytes())).resize((2048, 1536), Image.Resampling.NEAREST))
    data = _png(big)
    ref = ImageRef("big", hashlib.sha256(data).hexdigest(), partial(lambda d: d, data))
    shapes: list[tuple[int, ...]] = []
    real = heatmaps.peak_region

    def spy(heat: np.ndarray, *a: object, **k: object) -> object:
        shapes.append(np.shape(heat))
        return real(heat, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(heatmaps, "peak_region", spy)
    if hasattr(extractor_module, "peak_region"):
        monkeypatch.setattr(extractor_module, "peak_region", spy)
    block = ex.extract([AssetRecord("big-asset", images=(ref,))])
    regions = [f.region for f in block.findings["big-asset"] if f.region is not None]
    assert regions and shapes and max(max(s) for s in shapes) <= 512  # not a 2048x1536 float map per finding
    # the box is in the photo's own pixels
    assert all(0 <= x0 < x1 <= 2048 and 0 <= y0 < y1 <= 1536 for x0, y0, x1, y1 in regions)


def test_images_are_decoded_one_batch_at_a_time(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgrade.modalities.vision import extractor as extractor_module
    from assetgrade.modalities.vision.evidence_cache import clear_memory_cache

    clear_memory_cache()
    log: list[str] = []
    real_decode = extractor_module.decode_image

    def decode(data: bytes, **kw: str) -> object:
        log.append("decode")
        return real_decode(data, **kw)

    class Logging(_CountingBackbone):
        def run(self, batch: np.ndarray, **kw: object) -> object:
            log.append(f"run{len(batch)}")
            return super().run(batch, **kw)

    real_preprocess = extractor_module.preprocess

    def preprocess(img: object, size: int) -> object:
        log.append("reduce")
        return real_preprocess(img, size)  # type: ignore[arg-type]

    monkeypatch.setattr(extractor_module, "decode_image", decode)
    monkeypatch.setattr(extractor_module, "preprocess", preprocess)
    ex = get_extractor("vision", image_size=64, cache_dir=tmp_path, batch_size=2)
    ex._backbone = Logging(backbone64, [])  # type: ignore[attr-defined]
    refs = [_image(rng, False, k) for k in range(5)]
    seen, errors = ex._see(refs)  # type: ignore[attr-defined]
    assert all(e is not None for e in seen) and not errors
    # each photo reduced to the network input before the next is decoded, one backbone pass per batch
    d = ["decode", "reduce"]
    assert log == [*d, *d, "run2", *d, *d, "run2", *d, "run1"]


@pytest.mark.parametrize(("name", "value"), [
    ("C", "strong"), ("C", -1.0), ("C", float("nan")), ("target_false_alarm", 1.5), ("target_false_alarm", 0),
    ("batch_size", 0), ("coreset_size", 0), ("seed", -1), ("seed", 2**32), ("image_size", 100), ("image_size", 4096),
    ("backbone", "resnet"), ("engine", "gpu"), ("mil", 1), ("mil_rounds", -1), ("grades", ("A", "B", "A")),
    ("grades", ("A",)),
])
def test_bad_settings_are_refused_at_construction(name: str, value: object) -> None:
    # each of these used to pass construction (and ``config check``) and fail deep inside ``fit``
    with pytest.raises(ValidationError, match=rf"{name}=") as info:
        get_extractor("vision", **{name: value})
    assert info.value.where == f"VisionExtractor.{name}"


def test_settings_read_from_yaml_strings_work(tmp_path: Path) -> None:
    ex = get_extractor("vision", C="1e-3", target_false_alarm="1e-2", cache_dir=str(tmp_path))
    assert ex.C == 0.001 and ex.target_false_alarm == 0.01 and ex.cache_dir == tmp_path  # type: ignore[attr-defined]


def test_copies_of_one_good_photo_do_not_set_the_alarm_threshold(
    tmp_path: Path, backbone64: Backbone, rng: np.random.Generator
) -> None:
    # the same reference photo filed under every good asset: a held-out copy of a bank photo scores 0,
    # so any other good photo would alarm; the anomaly model needs distinct good photos
    same = _image(rng, False, 0)
    recs = [AssetRecord(f"g{i}", images=(ImageRef(f"ref{i}", same.sha256, same.load_bytes),), grade="A")
            for i in range(8)]
    recs += [AssetRecord(f"d{i}", images=(_image(rng, True, 100 + i),), grade="D") for i in range(8)]
    ex = get_extractor("vision", image_size=64, grades=("A", "B", "C", "D"), cache_dir=tmp_path, coreset_size=100)
    ex._backbone = backbone64  # type: ignore[attr-defined]
    ex.fit(recs)
    assert ex.anomaly_ is None and ex.alarm_ is None  # type: ignore[attr-defined]
    assert ex.fit_notes_ == [  # type: ignore[attr-defined]  # said, so the zeros below are not read as "normal"
        "no anomaly model: 1 distinct photo(s) of grade A assets, it needs 4; anomaly_ratio and anomaly_alarm_share "
        "read 0 (not measured) and no anomalous-region findings are made"]
    block = ex.extract([AssetRecord("new", images=(_image(rng, False, 50),))])
    assert block.features[0, list(block.feature_names).index("anomaly_ratio")] == 0.0
