"""Lifecycle fixtures: a workspace of small real-looking assets and a tiny dependency-free model bundle."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PIL import Image
from tests.workspace_template import new_workspace

from assetgrade.lifecycle.registry import ModelRegistry, register_bundle_loader
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

GRADES = ("A", "B", "C", "D")


class TableModel:
    """A real, tiny model: grade by asset type with a confidence, and per-asset overrides; saved as JSON."""

    def __init__(self, by_type: dict[str, str], overrides: dict[str, str] | None = None, conf: float = 0.7) -> None:
        self.by_type, self.overrides, self.conf = by_type, overrides or {}, conf
        self.manifest_hash_ = "f" * 64
        self.ontology_version_ = "test-ontology"
        self.metrics_ = {"cv_accuracy": 0.5}

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "table.json").write_text(json.dumps({"by_type": self.by_type, "overrides": self.overrides,
                                                     "conf": self.conf}))

    @classmethod
    def load(cls, path: Path) -> TableModel:
        d = json.loads((path / "table.json").read_text())
        return cls(d["by_type"], d["overrides"], d["conf"])

    def grade_many(self, records: Sequence[AssetRecord]) -> list[GradeResult]:
        out = []
        for r in records:
            g = self.overrides.get(r.asset_id, self.by_type.get(r.asset_type, "B"))
            rest = (1 - self.conf) / (len(GRADES) - 1)
            probs = {x: (self.conf if x == g else rest) for x in GRADES}
            out.append(GradeResult(r.asset_id, probs, g, (g,), 0.9, 100.0 * (1 - self.conf),
                                   "accept" if self.conf > 0.6 else "review", asset_type=r.asset_type))
        return out


register_bundle_loader("table", TableModel.load)


class OwnIdModel(TableModel):
    """The table model saved with a ``bundle.json`` naming its own version id, as a Grader bundle does."""

    def __init__(self, own: str, by_type: dict[str, str], overrides: dict[str, str] | None = None) -> None:
        super().__init__(by_type, overrides)
        self.version_ = own

    def save(self, path: Path) -> None:
        super().save(path)
        (path / "bundle.json").write_text(json.dumps({"model_version": self.version_}))


def golden_registry(ws: Workspace, monkeypatch: pytest.MonkeyPatch, n: int = 24) -> ModelRegistry:
    """A registry whose ``grader`` loader reads the table model, over ``n`` assets frozen as the golden set."""
    from assetgrade.lifecycle import bundles
    from assetgrade.lifecycle.golden import freeze_golden_set

    monkeypatch.setitem(bundles._LOADERS, "grader", TableModel.load)
    ids = seed_assets(ws, n)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    return ModelRegistry(ws)


def png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, (seed * 7) % 256, 3)).save(buf, "PNG")
    return buf.getvalue()


def seed_assets(ws: Workspace, n: int = 24, *, synthetic: Sequence[int] = ()) -> list[str]:
    """``n`` assets: pumps graded A, valves graded C (one PNG each; indices in ``synthetic`` get a synthetic image)."""
    ids = []
    with ws.session() as s:
        for i in range(n):
            aid = f"asset-{i:02d}"
            typ = "pump" if i % 2 == 0 else "valve"
            add_asset(s, aid, asset_type=typ, attributes={"source": "site-1" if i < n // 2 else "site-2"},
                      value=1000.0)
            data = png(i)
            sha = ws.blobs.put_bytes(data)
            add_evidence(s, asset_id=aid, kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                         evidence_id=f"ev-{i:02d}", provenance=ProvenanceInfo(source="camera"))
            if i in synthetic:
                sdata = png(1000 + i)
                ssha = ws.blobs.put_bytes(sdata)
                add_evidence(s, asset_id=aid, kind="image", sha256=ssha, blob_sha=ssha, media_type="image/png",
                             evidence_id=f"ev-{i:02d}-syn", provenance=ProvenanceInfo(
                                 origin="synthetic", generator="test.scratch", generator_params={"seed": i},
                                 parent_evidence_id=f"ev-{i:02d}"))
            add_label(s, asset_id=aid, kind="grade", value="A" if typ == "pump" else "C", annotator="expert-1")
            ids.append(aid)
    return ids


@pytest.fixture
def ws(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A fresh SQLite workspace (a copy of one made once a session: tests/workspace_template.py)."""
    w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


def promote_stamped_champion(ws: Workspace, n: int = 24) -> tuple[list[str], ModelRegistry]:
    """``n`` seeded assets (the first half frozen as the golden set) and a champion registered as ``v7``
    whose model stamps its predictions ``table-7f3a``, its own version id."""
    from assetgrade.lifecycle.golden import freeze_golden_set

    ids = seed_assets(ws, n)
    with ws.session() as s:
        freeze_golden_set(s, ids[: n // 2])
    model = TableModel({"pump": "A", "valve": "C"})
    model.version_ = "table-7f3a"  # type: ignore[attr-defined]
    reg = ModelRegistry(ws)
    reg.register(model, version="v7", loader="table")
    reg.promote("v7")
    return ids, reg
