"""Misused Grader API: a path, an id list or a dict where records, a Workspace or a result belong: ValidationError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.modalities.base import get_extractor
from assetgrade.ontology import default_ontology
from assetgrade.store.loading import load_records
from assetgrade.store.records import AssetRecord

from .conftest import make_records, tiny_grader


def test_built_in_extractors_need_no_import_and_bad_settings_are_named() -> None:
    code = "from assetgrade import get_extractor; print(get_extractor('text', embedder='none').modality)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "text", out.stderr
    with pytest.raises(ValidationError, match=r"bogus.*settings are") as info:
        get_extractor("text", bogus=1)
    assert info.value.where == "extractor_settings.text"
    with pytest.raises(ValidationError, match=r"settings for \['vison'\], which is no extractor"):
        Grader(extractor_settings={"vison": {"image_size": 64}})


def test_fit_refuses_what_is_not_records_and_misaligned_groups() -> None:
    for bad in ("/tmp/ws", Path("/tmp/ws"), 5, ["pump-1"]):
        with pytest.raises(ValidationError) as info:
            tiny_grader(extractors=("text",)).fit(bad)  # type: ignore[arg-type]
        assert info.value.where == "Grader.fit" and "Workspace.open" in str(info.value)
    records = make_records(8)
    with pytest.raises(ValidationError, match="groups has 2 entries for 8 records"):
        tiny_grader(extractors=("text",)).fit(records, groups=["g1", "g2"])
    with pytest.raises(ValidationError, match=r"modality_labels\['text'\] has 1 entries"):
        tiny_grader(extractors=("text",)).fit(records, modality_labels={"text": ["A"]})


def test_grading_refuses_what_is_not_an_asset_and_accepts_any_iterable(grader: Grader,
                                                                       records: list[AssetRecord]) -> None:
    for bad in (123, None, Path("pump-1")):
        with pytest.raises(ValidationError, match="asset id or an AssetRecord"):
            grader.grade(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs workspace= an open Workspace"):
        grader.grade("t001", workspace="/tmp/ws")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="item 0 is a str"):
        grader.grade_many(["t001"])  # type: ignore[list-item]
    assert len(grader.grade_many(r for r in records[:3])) == 3  # a generator is fine
    with pytest.raises(ValidationError, match="GradeResult"):
        grader.explain({})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not trained"):
        Grader().check_scale(default_ontology())
    with pytest.raises(ValidationError, match="open Workspace"):
        load_records("/tmp/ws")  # type: ignore[arg-type]


def test_from_workspace_takes_the_workspace_settings(tmp_ws) -> None:  # type: ignore[no-untyped-def]
    from assetgrade.config import CONFIG_NAME
    from assetgrade.workspace import Workspace

    cfg = tmp_ws.path / CONFIG_NAME
    cfg.write_text(cfg.read_text() + "grader:\n  folds: 3\n  extractors: [text]\n")
    with Workspace.open(tmp_ws.path) as ws:
        g = Grader.from_workspace(ws, seed=7)
    assert (g.folds, g.seed, g.extractors) == (3, 7, ("text",))
    assert Grader.from_workspace(tmp_ws, folds=None).folds == 5  # this handle read the config before the edit


@pytest.mark.parametrize("given", ["ws", Path("ws"), None])
def test_from_workspace_refuses_a_path_or_nothing_in_place_of_a_workspace(given: object) -> None:
    # a path gave "AttributeError: 'str' object has no attribute 'config'"
    with pytest.raises(ValidationError, match=r"needs an open Workspace \(Workspace.open\(path\)\)") as info:
        Grader.from_workspace(given)  # type: ignore[arg-type]
    assert info.value.where == "Grader.from_workspace"
