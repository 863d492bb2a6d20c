"""Behaviour of each audit check: it flags what it should and passes what it should."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from assetgrade.audit.base import get_check, run_checks
from assetgrade.audit.data import AuditData, audit_data_from_records
from assetgrade.audit.images import dhash, hamming_matrix, phash
from assetgrade.audit.report import report_html, write_report
from assetgrade.store.records import AssetRecord, ImageRef


def _table(labels: list[str], origins: list[str], **cols: list[str]) -> pd.DataFrame:
    n = len(labels)
    return pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "asset_id": [f"a{k}" for k in range(n)],
                         "label": labels, "origin": origins, **cols})


def test_synthetic_share_flags_the_class_above_policy() -> None:
    labels = ["x"] * 10 + ["y"] * 10
    origins = ["real"] * 10 + ["real"] * 7 + ["synthetic", "augmented", "synthetic"]
    res = get_check("synthetic_share", max_share=0.1).run(AuditData(_table(labels, origins)))
    assert not res.passed
    assert res.flags.tolist() == [False] * 17 + [True] * 3
    over = [c for c in res.info["cells"] if c["over"]]
    assert [c["label"] for c in over] == ["y"] and over[0]["share"] == 0.3
    assert res.summary == 0.7
    relaxed = get_check("synthetic_share", max_share=0.3).run(AuditData(_table(labels, origins)))
    assert relaxed.passed and relaxed.n_flagged == 0


def test_adversarial_auc_high_with_brightness_shortcut(
    data_factory: Callable[..., AuditData], rng: np.random.Generator
) -> None:
    res = get_check("adversarial").run(data_factory(rng, n=80, shortcut=True))
    assert res.info["auc"] > 0.9
    assert not res.passed
    assert "brightness" in [s["stat"] for s in res.info["shortcuts"]]
    assert res.info["top_embedding_dims"][0]["dim"] == 0
    assert res.info["most_synthetic_looking"]


def test_adversarial_auc_near_half_without_shortcut(
    data_factory: Callable[..., AuditData], rng: np.random.Generator
) -> None:
    res = get_check("adversarial").run(data_factory(rng, n=80, shortcut=False))
    assert 0.3 < res.info["auc"] < 0.7
    assert res.passed and res.info["shortcuts"] == []


def test_sim_to_real_gap_large_when_synthetic_labels_follow_another_feature(rng: np.random.Generator) -> None:
    n = 120
    labels = np.array(["x", "y"] * (n // 2))
    origin = np.where(np.arange(n) < 80, "real", "synthetic")
    emb = rng.normal(size=(n, 4))
    real = origin == "real"
    emb[real, 0] += np.where(labels[real] == "x", 2.5, -2.5)  # real: the label lives in dim 0
    emb[~real, 1] += np.where(labels[~real] == "x", 2.5, -2.5)  # synthetic: in dim 1 only
    data = AuditData(_table(list(labels), list(origin)), embeddings=emb)
    res = get_check("sim_to_real").run(data)
    assert res.info["accuracy_real_to_real"] > 0.9
    assert res.info["accuracy_synthetic_to_real"] < 0.8
    assert res.info["gap"] > 0.15 and not res.passed
    good = emb.copy()
    good[~real, 1] = rng.normal(size=(~real).sum())
    good[~real, 0] += np.where(labels[~real] == "x", 2.5, -2.5)
    res2 = get_check("sim_to_real").run(AuditData(_table(list(labels), list(origin)), embeddings=good))
    assert abs(res2.info["gap"]) < 0.1 and res2.passed


def test_coverage_ranks_the_empty_cell_first() -> None:
    labels = ["crack"] * 30 + ["dent"] * 12
    types = ["pump"] * 25 + ["valve"] * 5 + ["pump"] * 12
    res = get_check("coverage", min_count=10, by=("label", "asset_type")).run(
        AuditData(_table(labels, ["real"] * 42, asset_type=types))
    )
    gaps = res.info["collection_list"]
    got = [(g["label"], g["asset_type"], g["n_real_expert"]) for g in gaps]
    assert got == [("dent", "valve", 0), ("crack", "valve", 5)]
    assert res.flags[25:30].all() and not res.flags[:25].any()
    assert res.summary == 0.5


def test_coverage_counts_only_real_expert_labelled_items() -> None:
    t = _table(["x"] * 12, ["real"] * 6 + ["synthetic"] * 6, expert_labelled=[True] * 3 + [False] * 9)
    res = get_check("coverage", min_count=5).run(AuditData(t))
    assert res.info["collection_list"][0]["n_real_expert"] == 3


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _textures(rng: np.random.Generator, k: int) -> list[Image.Image]:
    out = []
    for _ in range(k):
        small = rng.integers(0, 255, size=(8, 8)).astype(np.uint8)
        out.append(Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC).convert("RGB"))
    return out


def test_phash_finds_resized_recompressed_copy(rng: np.random.Generator) -> None:
    imgs = _textures(rng, 6)
    copy = _jpeg(imgs[0].resize((97, 97), Image.Resampling.BILINEAR), quality=40)
    hashes = np.array([phash(i) for i in [*imgs, copy]])
    d = hamming_matrix(hashes)
    assert d[0, 6] <= 4
    others = d[6, 1:6]
    assert others.min() > 12
    assert (hamming_matrix(np.array([dhash(imgs[0]), dhash(copy)]))[0, 1]) <= 8


def test_duplicates_check_reports_leakage_across_splits(rng: np.random.Generator) -> None:
    imgs = _textures(rng, 8)
    imgs.append(_jpeg(imgs[2].resize((90, 90)), quality=50))
    split = ["train"] * 8 + ["test"]
    data = AuditData(_table(["x", "y"] * 4 + ["x"], ["real"] * 9, split=split), image_loader=lambda i: imgs[i])
    res = get_check("duplicates").run(data)
    assert not res.passed and res.info["n_leakage_pairs"] == 1
    pair = res.info["leakage_pairs"][0]
    assert {pair["a"], pair["b"]} == {"i2", "i8"} and pair["method"] == "phash"
    assert res.flags.tolist() == [False, False, True] + [False] * 5 + [True]


def test_imbalance_flags_the_minority_class() -> None:
    labels = ["a"] * 50 + ["b"] * 3 + ["c"] * 20
    res = get_check("imbalance", min_ratio=0.1).run(AuditData(_table(labels, ["real"] * 73)))
    assert not res.passed and res.summary == 3 / 50
    assert res.flags.sum() == 3 and res.flags[50:53].all()


def test_label_noise_finds_flipped_labels(rng: np.random.Generator) -> None:
    n = 90
    y = np.array([0, 1, 2] * 30)
    emb = rng.normal(size=(n, 3)) * 0.3 + np.eye(3)[y] * 3
    labels = np.array(["a", "b", "c"])[y]
    flipped = [4, 17, 33]
    labels[flipped] = ["c", "a", "b"]
    res = get_check("label_noise").run(AuditData(_table(list(labels), ["real"] * n), embeddings=emb))
    assert set(np.argsort(res.scores)[:3]) == set(flipped)  # the three lowest label-quality scores
    assert 2 <= res.n_flagged <= 8 and set(np.flatnonzero(res.flags)) <= set(flipped)


def test_report_json_and_html(tmp_path: Path, data_factory: Callable[..., AuditData], rng: np.random.Generator) -> None:
    data = data_factory(rng, n=30)
    data.table.loc[0, "item_id"] = "<script>x</script>"
    rep = run_checks(data, ["synthetic_share", "imbalance"])
    write_report(rep, json_path=tmp_path / "a.json", html_path=tmp_path / "a.html")
    assert '"synthetic_share"' in (tmp_path / "a.json").read_text()
    html = report_html(rep)
    assert "FAILED" in html and "<script>x" not in html and "&lt;script&gt;" in html


def test_audit_data_from_records() -> None:
    def png() -> bytes:
        buf = io.BytesIO()
        Image.new("L", (20, 20), 90).save(buf, format="PNG")
        return buf.getvalue()

    img = partial(png)
    recs = [
        AssetRecord("p1", "pump", {"split": "test", "capture_condition": "night"}, grade="B",
                    images=(ImageRef("e1", "0" * 64, img), ImageRef("e2", "1" * 64, img, origin="synthetic"))),
        AssetRecord("p2", "valve", grade="A"),
    ]
    data = audit_data_from_records(recs, embed=lambda refs: np.ones((len(refs), 3), np.float32))
    t = data.table
    assert list(t["item_id"]) == ["p1/e1", "p1/e2", "p2"]
    assert list(t["origin"]) == ["real", "synthetic", "real"]
    assert list(t["split"]) == ["test", "test", "train"] and t["capture_condition"][0] == "night"
    assert data.embeddings is not None and data.embeddings.shape == (3, 3)
    assert data.image_loader is not None and data.image_loader(0).size == (20, 20)
    # one distribution per record reaches every image row of that record
    per_record = np.array([[0.1, 0.9], [0.8, 0.2]])
    data = audit_data_from_records(recs, pred_probs=per_record, classes=("A", "B"), pred_probs_source="a grader")
    assert data.pred_probs is not None and data.pred_probs.tolist() == [[0.1, 0.9], [0.1, 0.9], [0.8, 0.2]]
    res = get_check("label_noise").run(data)
    assert res.info["probs_from"] == "a grader" and "probabilities: a grader" in res.message
