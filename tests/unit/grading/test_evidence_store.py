"""Evidence rows kept on disk: another process (a new Grader object) grades from them, other models never do."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetgrade.grader import Grader
from assetgrade.grading.cache import DISK_TTL_S, EvidenceCache, EvidenceRow
from assetgrade.modalities.base import Finding
from assetgrade.store.records import AssetRecord

from .conftest import tiny_grader


def _row(x: float) -> EvidenceRow:
    return EvidenceRow(np.array([x, 2.0]), True, np.array([0.25, 0.75]),
                       [Finding(modality="text", summary=f"leak {x}", confidence=0.5)], ["blurry"])


def _stored(db: Path, namespace: str = "m", **rows: EvidenceRow) -> EvidenceCache:
    """A cache on ``db`` holding ``rows``, flushed to disk."""
    cache = EvidenceCache()
    cache.persist(db, namespace)
    for key, row in rows.items():
        cache.put(key, row)
    cache.flush()
    return cache


def test_rows_outlive_the_cache_object_under_their_namespace_only(tmp_path: Path) -> None:
    db = tmp_path / "cache" / "evidence.sqlite"
    a = EvidenceCache()
    a.persist(db, "model-1/code-1")
    a.put("k1", _row(1.0))
    a.put("k2", _row(2.0))
    assert EvidenceCache().get("k1") is None  # nothing on disk before the flush
    a.flush()
    b = EvidenceCache()
    b.persist(db, "model-1/code-1")
    got = b.get("k2")
    assert got is not None and got.features.tolist() == [2.0, 2.0] and got.findings[0].summary == "leak 2.0"
    assert got.flags == ["blurry"] and b.disk_hits == 1 and b.get("k2") is got  # then served from memory
    other = EvidenceCache()
    other.persist(db, "model-2/code-1")  # a retrained model or a new release reads nothing of model-1
    assert other.get("k1") is None and other.misses == 1


def test_old_rows_are_dropped_and_a_broken_file_is_set_aside(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "evidence.sqlite"
    a = _stored(db, old=_row(1.0), new=_row(2.0))
    con = sqlite3.connect(db)
    con.execute("UPDATE evidence_rows SET written = written - ? WHERE key = 'm/old'", (DISK_TTL_S + 60,))
    con.commit()
    con.close()
    b = EvidenceCache()
    b.persist(db, "m")
    assert b.get("old") is None and b.get("new") is not None
    a.close()
    b.close()
    db.write_bytes(b"this is not a database" * 100)
    c = EvidenceCache()
    with caplog.at_level(logging.WARNING):
        c.persist(db, "m")
    assert "not usable" in caplog.text and (tmp_path / "evidence.sqlite.broken").exists()
    c.put("k", _row(3.0))
    c.flush()  # grading goes on: memory only
    assert c.get("k") is not None


def test_the_file_stops_growing_at_its_cap_dropping_the_oldest_rows(tmp_path: Path) -> None:
    db = tmp_path / "evidence.sqlite"
    big = EvidenceRow(np.random.default_rng(0).normal(size=2_000), True, None)  # ~16 KB pickled
    cache = EvidenceCache()
    cache.persist(db, "m", max_bytes=400_000)
    for i in range(60):  # ~1 MB of rows written, one flush each
        cache.put(f"k{i:02d}", big)
        cache.flush()
    cache.close()
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT key FROM evidence_rows ORDER BY key")]
    used = (con.execute("PRAGMA page_count").fetchone()[0]
            - con.execute("PRAGMA freelist_count").fetchone()[0]) * con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    assert used <= 400_000 and db.stat().st_size < 700_000  # freed pages were re-used
    assert "m/k59" in keys and "m/k00" not in keys and 10 <= len(keys) < 25  # the newest kept, the oldest gone
    again = EvidenceCache()
    again.persist(db, "m", max_bytes=400_000)
    assert again.get("k59") is not None and again.get("k00") is None
    again.close()
    tiny = EvidenceCache()
    tiny.persist(db, "m", max_bytes=100_000)  # a lower cap applies when a process opens the file
    tiny.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM evidence_rows").fetchone()[0] < len(keys)
    con.close()


def test_a_busy_file_is_left_alone_and_an_unreadable_row_is_a_miss(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.grading.evidence_disk as disk_mod

    db = tmp_path / "evidence.sqlite"
    _stored(db, good=_row(1.0), bad=_row(2.0))
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE evidence_rows SET row = ? WHERE key = 'm/bad'", (b"not a pickle",))
    b = EvidenceCache()
    b.persist(db, "m")
    assert b.get("bad") is None and b.get("good") is not None  # the rest of the file still serves
    monkeypatch.setattr(disk_mod, "BUSY_TIMEOUT_S", 0.2)  # read where the file is opened
    con.execute("BEGIN EXCLUSIVE")  # another process holds the file
    c = EvidenceCache()
    c.persist(db, "m")
    con.execute("ROLLBACK")
    con.close()
    assert c.get("good") is None and db.exists() and not (tmp_path / "evidence.sqlite.broken").exists()


def test_a_loaded_grader_grades_from_rows_another_process_stored(grader: Grader, records: list[AssetRecord],
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = grader.save(tmp_path / "grader")
    db = tmp_path / "cache" / "evidence.sqlite"
    first = Grader.load(folder, evidence_store=db)
    want = first.grade_many(records[:6])
    again = Grader.load(folder, evidence_store=db)  # a new process: empty memory
    for ex in again.extractors_.values():
        monkeypatch.setattr(ex, "extract", lambda recs: pytest.fail("the extractor ran: rows were not on disk"))
    got = again.grade_many(records[:6])
    assert [r.probabilities for r in got] == [r.probabilities for r in want]
    assert again.cache.disk_hits == 6 * len(again.extractors_)
    monkeypatch.undo()
    # a model trained again is a new model: it starts without any store, and its rows are its own
    refit = tiny_grader(extractors=["text"]).fit(records)
    refit.use_evidence_store(db)
    refit.grade_many(records[:2])
    assert refit.cache.disk_hits == 0


def test_heat_map_overlays_are_rendered_once_per_model_and_image(grader: Grader, records: list[AssetRecord],
                                                                  tmp_ws: Any, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.grading.report as report
    from assetgrade.grading.recording import heatmap_overlays

    folder = grader.save(tmp_path / "grader")
    first = Grader.load(folder, evidence_store=tmp_ws.evidence_cache_path)
    made = heatmap_overlays(tmp_ws, first, records[:3])
    assert sorted(made) == sorted(r.asset_id for r in records[:3])
    real, calls = report.image_heatmap, []
    monkeypatch.setattr(report, "image_heatmap", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = Grader.load(folder, evidence_store=tmp_ws.evidence_cache_path)  # another process
    assert heatmap_overlays(tmp_ws, again, records[:3]) == made and calls == []
    gone = next(iter(made[records[0].asset_id].values()))
    tmp_ws.blobs.fs.rm(tmp_ws.blobs.path_for(gone))  # a blob the store lost is rendered again
    assert heatmap_overlays(tmp_ws, again, records[:3]) == made and len(calls) == 1


def test_the_workspace_setting_caps_the_evidence_store(grader: Grader, records: list[AssetRecord],
                                                       tmp_path: Path) -> None:
    from assetgrade.config import set_in_text
    from assetgrade.workspace import Workspace, config_path

    Workspace.init(tmp_path / "ws").close()
    cfg = config_path(tmp_path / "ws")
    cfg.write_text(set_in_text(cfg.read_text(), "evidence_cache_max_gb", 0.0001))
    ws = Workspace.open(tmp_path / "ws")
    assert ws.evidence_cache_max_bytes == 100_000
    folder = grader.save(tmp_path / "grader")
    loaded = Grader.load(folder, evidence_store=ws.evidence_cache_path,
                         evidence_store_max_bytes=ws.evidence_cache_max_bytes)
    assert loaded.cache._disk is not None and loaded.cache._disk.max_bytes == 100_000
    loaded.grade_many(records)
    loaded.cache.close()
    ws.close()
    con = sqlite3.connect(ws.evidence_cache_path)
    (pages,) = con.execute("PRAGMA page_count").fetchone()
    (free,) = con.execute("PRAGMA freelist_count").fetchone()
    (size,) = con.execute("PRAGMA page_size").fetchone()
    (rows,) = con.execute("SELECT COUNT(*) FROM evidence_rows").fetchone()
    con.close()
    # uncapped, these rows take about 200 kB: the oldest went, and the file's rows stay under the cap
    assert rows < len(records) * len(loaded.extractors_)
    assert (pages - free) * size <= 100_000


def test_rows_of_evidence_that_could_not_be_read_are_not_kept() -> None:
    from assetgrade.grading.cache import extract_cached
    from assetgrade.modalities.base import EvidenceBlock

    class Flaky:
        modality = "sensors"

        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def extract(self, records: Any) -> EvidenceBlock:
            ids = [r.asset_id for r in records]
            self.calls.append(ids)
            gone = frozenset(a for a in ids if a == "gone")
            return EvidenceBlock("sensors", ids, ("x",), np.array([[np.nan] if a in gone else [1.0] for a in ids]),
                                 np.array([a not in gone for a in ids]), quality_flags={a: ["blob lost"] for a in gone},
                                 unreadable=gone)

    cache, ex = EvidenceCache(), Flaky()
    from assetgrade.store.records import SeriesRef

    recs = [AssetRecord(a, series=(SeriesRef(f"{a}-s", sha, load=dict),)) for a, sha in (("ok", "1"), ("gone", "2"))]
    for _ in range(2):
        block = extract_cached(ex, recs, key="m", feature_names=("x",), n_classes=2, cache=cache)
        assert block.present.tolist() == [True, False] and block.quality_flags["gone"] == ["blob lost"]
    assert ex.calls == [["ok", "gone"], ["gone"]]  # the readable row came from the store, the lost one is read again
