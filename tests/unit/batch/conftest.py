"""Batch fixtures: a small workspace of assets with maintenance logs and images, and a trained text Grader."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

LOGS = {
    "A": "Routine inspection, no defects found, unit runs clean and quiet.",
    "B": "Minor wear on the seal, light surface scratches on the housing.",
    "C": "Corrosion on the flange and a slow oil leak at the pump seal.",
    "D": "Fatigue crack at the weld, severe leak, bearing seized; unit out of service.",
}
N_ASSETS = 24


def png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (i * 9 % 256, (i * 31) % 256, 40)).save(buf, "PNG")
    return buf.getvalue()


def seed(ws: Workspace, n: int = N_ASSETS, *, prefix: str = "asset") -> list[str]:
    """``n`` assets with a grade label, one log entry worded for the grade and one PNG image."""
    grades = "ABCD"
    ids = []
    with ws.session() as s:
        for i in range(n):
            aid, g = f"{prefix}-{i:03d}", grades[i % 4]
            add_asset(s, aid, asset_type="pump" if i % 2 else "valve", value=1000.0)
            text = f"{LOGS[g]} Visit {i}."
            add_evidence(s, asset_id=aid, kind="log", sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                         evidence_id=f"{aid}/log", provenance=ProvenanceInfo(source="cmms"))
            sha = ws.blobs.put_bytes(png(i))
            add_evidence(s, asset_id=aid, kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                         evidence_id=f"{aid}/img", provenance=ProvenanceInfo(source="camera"))
            add_label(s, asset_id=aid, kind="grade", value=g, annotator="expert")
            ids.append(aid)
    return ids


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a seeded template workspace folder, its saved text Grader folder); copy before writing."""
    from assetgrade.grader import Grader

    root = tmp_path_factory.mktemp("batch-template")
    ws = Workspace.init(root / "ws")
    seed(ws)
    grader = Grader(extractors=("text",), folds=2, seed=0).fit(ws)
    model = grader.save(ws.models_dir / "grader")
    ws.close()
    return root / "ws", model


@pytest.fixture
def batch_ws(trained: tuple[Path, Path], tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the trained workspace (its grader at models/grader)."""
    src, _ = trained
    dst = tmp_path / "ws"
    shutil.copytree(src, dst)
    ws = Workspace.open(dst)
    yield ws
    ws.close()
