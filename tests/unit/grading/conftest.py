"""Grading test fixtures: ~30 tiny assets (generated images, short logs, short series) and one trained Grader."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from assetgrade.grader import Grader
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef

GRADES = ("A", "B", "C", "D")
TEXTS = {
    "A": ["routine inspection completed, all ok", "scheduled service done"],
    "B": ["minor wear on drive belt", "slight wear at bushing"],
    "C": ["oil leak at pump seal", "hydraulic hose leaking"],
    "D": ["shaft cracked and bearing seized", "gearbox broken, unit failed"],
}


def image_png(level: int, seed: int, *, dark: bool = False) -> bytes:
    """A 64x64 light-grey cell with ``level`` x 3 dark crack lines (or an all-dark image)."""
    rng = np.random.default_rng(seed)
    arr = np.full((64, 64, 3), 185, dtype=np.uint8) + rng.integers(0, 12, (64, 64, 1)).astype(np.uint8)
    for _ in range(3 * level):
        r = int(rng.integers(4, 60))
        arr[r : r + 2, int(rng.integers(0, 20)) : int(rng.integers(40, 64))] = 20
    if dark:
        arr[:] = 3
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def series_frame(level: int, seed: int) -> pd.DataFrame:
    """60 cycles of two channels whose drift grows with ``level``."""
    rng = np.random.default_rng(seed)
    t = np.arange(60, dtype=float)
    return pd.DataFrame(
        {"temp": 50 + level * 0.3 * t + rng.normal(0, 0.5, 60), "vib": 1 + level * 0.05 * t + rng.normal(0, 0.05, 60)},
        index=pd.Index(t, name="cycle"),
    )


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _copier(frame: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    return lambda: frame.copy()


def make_record(
    aid: str,
    *,
    image_level: int | None,
    text_grade: str | None,
    series_level: int | None,
    grade: str | None = None,
    seed: int = 0,
    dark: bool = False,
    asset_type: str = "pump",
) -> AssetRecord:
    """One asset; a modality given None is absent."""
    images: tuple[ImageRef, ...] = ()
    if image_level is not None:
        data = image_png(image_level, seed, dark=dark)
        images = (ImageRef(f"{aid}-img", f"sha-{aid}-{image_level}-{seed}-{dark}", _const(data)),)
    logs: tuple[LogEntry, ...] = ()
    if text_grade is not None:
        words = TEXTS[text_grade][seed % 2]
        logs = (LogEntry(f"{aid}-log", words, datetime(2024, 1, 1) + timedelta(days=seed)),)
    series: tuple[SeriesRef, ...] = ()
    if series_level is not None:
        frame = series_frame(series_level, seed)
        series = (SeriesRef(f"{aid}-ser", f"sha-ser-{aid}-{series_level}-{seed}", _copier(frame)),)
    return AssetRecord(aid, asset_type, images=images, logs=logs, series=series, grade=grade)


def make_records(n: int = 32, seed: int = 0) -> list[AssetRecord]:
    """``n`` labelled assets whose three modalities agree with their grade."""
    out = []
    for i in range(n):
        g = i % 4
        out.append(make_record(f"t{i:03d}", image_level=g, text_grade=GRADES[g], series_level=g, grade=GRADES[g],
                               seed=seed * 1000 + i, asset_type="pump" if i % 2 else "valve"))
    return out


FAST_SETTINGS = {"vision": {"image_size": 64, "coreset_size": 64, "augment": []}, "text": {"embedder": "none"}}
"""No augmented views: a third of the backbone passes (the views are tested in tests/unit/vision)."""


def tiny_grader(**kw: object) -> Grader:
    """Grader settings that keep unit tests fast (2 folds, 64-pixel images, no views, no sentence embedder)."""
    base: dict[str, object] = {"folds": 2, "seed": 0, "extractor_settings": FAST_SETTINGS, "min_group_size": 10}
    base.update(kw)
    return Grader(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def records() -> list[AssetRecord]:
    """The training assets."""
    return make_records()


@pytest.fixture(scope="session")
def grader(records: list[AssetRecord]) -> Grader:
    """A Grader trained once per session on the tiny assets with all three extractors."""
    return tiny_grader().fit(records)


@pytest.fixture
def record_factory() -> Callable[..., AssetRecord]:
    """Build one asset (see :func:`make_record`)."""
    return make_record


@pytest.fixture
def tmp_ws(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A fresh workspace (a copy of one made once a session: tests/workspace_template.py)."""
    from tests.workspace_template import new_workspace

    ws = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield ws
    ws.close()
