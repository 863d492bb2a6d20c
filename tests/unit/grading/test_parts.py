"""The Grader's parts: hashes, evidence cache, decisions, stacking, report rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Self

import numpy as np
import pytest

from assetgrade.decision import CostConfig, DecisionPolicy
from assetgrade.grader import Grader
from assetgrade.grading.cache import EvidenceCache, asset_input_hash, extract_cached, modality_input_hash
from assetgrade.grading.decide import decide_asset, image_quality_flags
from assetgrade.grading.report import highlight_spans, render_report
from assetgrade.grading.stacking import fit_stack
from assetgrade.grading.training import align_block, manifest_hash
from assetgrade.modalities.base import EvidenceBlock, Finding, Modality
from assetgrade.store.records import AssetRecord, LogEntry

from .conftest import make_records


def test_hashes_follow_content_not_object_identity() -> None:
    a, b = make_records(2), make_records(2)
    assert asset_input_hash(a[0]) == asset_input_hash(b[0])
    edited = replace(a[0], logs=(LogEntry("t000-log", "hose leaking"),))
    assert modality_input_hash(edited, "text") != modality_input_hash(a[0], "text")
    assert modality_input_hash(edited, "vision") == modality_input_hash(a[0], "vision")
    labels = [r.grade for r in a]
    assert manifest_hash(a, labels) == manifest_hash(list(reversed(b)), list(reversed(labels)))
    assert manifest_hash(a, labels) != manifest_hash(a, ["D", labels[1]])


class _CountingText:
    modality: Modality = "text"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None) -> Self:
        return self

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        self.seen += [r.asset_id for r in records]
        feats = np.array([[float(len(r.logs))] for r in records])
        present = np.array([bool(r.logs) for r in records])
        return EvidenceBlock("text", [r.asset_id for r in records], ("n_logs",), feats, present,
                             {r.asset_id: [Finding("text", "x")] for r in records})


def test_extract_cached_serves_unchanged_assets_from_the_cache() -> None:
    ex, cache = _CountingText(), EvidenceCache()
    recs = [AssetRecord("a", logs=(LogEntry("e1", "x"),)), AssetRecord("b")]
    b1 = extract_cached(ex, recs, key="m1", feature_names=("n_logs",), n_classes=4, cache=cache)
    b2 = extract_cached(ex, recs, key="m1", feature_names=("n_logs",), n_classes=4, cache=cache)
    assert ex.seen == ["a", "b"] and cache.hits == 2
    assert np.array_equal(b1.features, b2.features) and b2.present.tolist() == [True, False]
    assert b2.findings["a"][0].summary == "x"
    extract_cached(ex, recs, key="m2", feature_names=("n_logs",), n_classes=4, cache=cache)  # another model
    assert ex.seen == ["a", "b", "a", "b"]


def test_align_block_reorders_by_name_and_fills_missing_columns() -> None:
    b = EvidenceBlock("sensors", ["a"], ("x", "y"), np.array([[1.0, 2.0]]), np.array([True]))
    out = align_block(b, ("y", "z", "x"), 4)
    assert out.features.tolist()[0][0] == 2.0 and np.isnan(out.features[0, 1]) and out.features[0, 2] == 1.0


def test_image_quality_flag_sends_an_otherwise_accepted_asset_to_review() -> None:
    pol = DecisionPolicy(CostConfig(), max_expected_cost=500.0)
    p = np.array([0.99, 0.01, 0.0, 0.0])
    assert decide_asset(pol, p, conformal_set=("A",), contradictions=(), value=None, image_flags=()).action == "accept"
    flags = image_quality_flags(["img-1:blurry", "s1: constant channel"])
    assert flags == ["img-1:blurry"]
    # a flag whose effect the vision head learned is already in the distribution: it alone sends nothing to review
    mixed = ["img-1:blurry", "img-2:glare", "unreadable:img-3"]
    assert image_quality_flags(mixed, accounted={"blurry"}) == ["img-2:glare", "unreadable:img-3"]
    assert image_quality_flags(["img-1:blurry"], accounted={"blurry"}) == []
    d = decide_asset(pol, p, conformal_set=("A",), contradictions=(), value=None, image_flags=flags)
    assert d.action == "review" and "image quality" in d.reasons[0]
    none = DecisionPolicy(CostConfig(), max_expected_cost=float("-inf"))
    d2 = decide_asset(none, p, conformal_set=("A",), contradictions=(), value=None, image_flags=())
    assert d2.action == "review" and "no expected-cost threshold could be certified" in d2.reasons[0]


def test_fit_stack_reports_out_of_fold_numbers_only(rng: np.random.Generator) -> None:
    from assetgrade.fusion import Fuser

    n = 200
    y = rng.integers(0, 4, n)
    ids = [f"a{i}" for i in range(n)]
    feat = (y[:, None] + rng.normal(0, 0.7, (n, 1))).astype(float)
    b = EvidenceBlock("sensors", ids, ("f",), feat, np.ones(n, bool))
    st = fit_stack([b], y, ids, None, grades=("A", "B", "C", "D"), make_fuser=lambda: Fuser(use_features=True),
                   alpha=0.1, n_splits=4, seed=0)
    assert st.oof_proba.shape == (n, 4) and np.allclose(st.oof_proba.sum(1), 1)
    cover = st.oof_membership[np.arange(n), y].mean()
    assert 0.8 <= cover <= 0.97  # nominal 90%, out-of-fold
    assert st.calibration in ("temperature", "isotonic", "none") and st.nll[st.calibration] <= st.nll["none"] + 1e-9


def test_highlight_spans_marks_confirmed_and_negated_findings() -> None:
    text = "no leak; hose cracked <b>"
    fs = [Finding("text", "leak", span=(3, 7), status="negated"), Finding("text", "crack", span=(14, 21))]
    html = highlight_spans(text, fs)
    assert '<mark class="neg" title="leak">leak</mark>' in html and '<mark class="hit"' in html
    assert "&lt;b&gt;" in html  # the log text is escaped


def test_report_embeds_images_plots_logs_and_versions(grader: Grader, records: list[AssetRecord]) -> None:
    r = grader.grade(records[3])
    html = render_report(r, records[3], grader)
    assert html.count("data:image/png;base64,") >= 3  # grade bars, the image with its heat map, the sensor plot
    assert r.asset_id in html and r.decision.upper() in html and grader.version_ in html
    assert records[3].logs[0].text.split()[0] in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


class _FakeBackbone:
    image_size = 8

    def __init__(self) -> None:
        self.calls = 0

    def run(self, batch, *, maps=True):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.calls += 1
        return SimpleNamespace(pooled=batch.reshape(len(batch), -1).sum(1, keepdims=True), cam_maps=(batch,),
                               patch_maps=())


def test_memo_backbone_runs_each_image_once_within_its_byte_budget() -> None:
    from assetgrade.grading.cache import MemoBackbone

    inner = _FakeBackbone()
    memo = MemoBackbone(inner, max_bytes=2 * (8 * 8 * 3 * 4 + 4))
    imgs = [np.full((1, 3, 8, 8), float(i), np.float32) for i in range(3)]
    a = memo.run(imgs[0])
    assert memo.run(imgs[0].copy()) is a and inner.calls == 1  # same pixels: served from the memo
    assert memo.image_size == 8  # other attributes are the wrapped backbone's
    memo.run(imgs[1])
    memo.run(imgs[2])  # over budget: the least recently used (image 0) is dropped
    memo.run(imgs[0])
    assert inner.calls == 4 and memo.nbytes <= memo.max_bytes
    memo.run(np.concatenate(imgs[:2]))  # batches pass through
    assert inner.calls == 5


def test_own_label_line_names_each_measured_extractor() -> None:
    from assetgrade.grading.evaluate import own_label_line

    assert own_label_line({}) is None
    assert own_label_line({"vision": {"accuracy": 0.5}}) is None  # not measured: no line rather than a blank figure
    line = own_label_line({"vision": {"extractor_accuracy_on_own_label": 0.7267},
                           "text": {"accuracy": 0.4}, "sensors": {"extractor_accuracy_on_own_label": 0.8}})
    assert line is not None and "vision 72.7%, sensors 80.0%;" in line and "text" not in line


def test_a_future_date_flag_is_recomputed_once_the_date_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.grading.cache as cache_module
    import assetgrade.modalities.text.summary as summary_module
    from assetgrade.modalities.text import TextExtractor

    when = datetime.now(UTC) + timedelta(days=1)
    recs = [AssetRecord("a", logs=(LogEntry("e1", "hose leaking", when),))]
    ex = TextExtractor(embedder="none").fit(recs)
    cache = EvidenceCache()
    before = extract_cached(ex, recs, key="m", feature_names=ex.feature_names, n_classes=4, cache=cache)
    assert "future_date:e1" in before.quality_flags["a"]

    class _TwoDaysLater(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> _TwoDaysLater:
            return cls.fromtimestamp((when + timedelta(days=1)).timestamp(), tz)

    monkeypatch.setattr(cache_module, "datetime", _TwoDaysLater)
    monkeypatch.setattr(summary_module, "datetime", _TwoDaysLater)
    after = extract_cached(ex, recs, key="m", feature_names=ex.feature_names, n_classes=4, cache=cache)
    assert "future_date:e1" not in after.quality_flags.get("a", [])  # not the cached row from yesterday


def test_explain_text_says_where_each_sensor_finding_is() -> None:
    from assetgrade.grading.assemble import explain_text
    from assetgrade.modalities.base import Finding
    from assetgrade.result import GradeResult, ModalityEvidence

    findings = (Finding(modality="sensors", summary="s11 exceeded 5σ", evidence_id="s1", window=(10.0, 20.0)),
                Finding(modality="sensors", summary="remaining useful life 40 cycles", evidence_id="s1",
                        window=(127.0, 127.0)))
    r = GradeResult("a", {"A": 0.2, "B": 0.8}, "B", ("B",), 0.9, 10.0, "accept",
                    evidence=(ModalityEvidence("sensors", True, findings=findings),))
    text = explain_text(r)
    assert "s11 exceeded 5σ (s1 window 10-20" in text
    assert "remaining useful life 40 cycles (s1 at 127," in text  # a moment, not a window from 127 to 127
