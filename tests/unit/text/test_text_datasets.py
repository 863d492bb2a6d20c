"""MaintIE/MaintNorm-format files given with --data-dir: malformed ones are named, and benchmarks stay honest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgrade.bench.text import bench_entities, bench_normalize
from assetgrade.datasets.maintie import load_maintie
from assetgrade.errors import IngestError, ValidationError


def _json(tmp_path: Path, data: object) -> Path:
    f = tmp_path / "gold.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    return f


@pytest.mark.parametrize(("data", "match"), [
    (5, "expected a JSON list"),
    ({"tokens": ["a"], "entities": []}, "expected a JSON list"),
    (["pump"], r"gold\.json\[0\]: malformed item"),
    ([{"tokens": "pump leak", "entities": []}], "'tokens' list"),
    ([{"tokens": ["pump"], "entities": [{"start": 0.9, "end": 1, "type": "X"}]}], "whole numbers"),
    ([{"tokens": ["pump"], "entities": [{"start": 0, "end": 1, "type": ""}]}], "non-empty string"),
    ([{"tokens": ["pump"], "entities": [{"start": 0, "end": 3, "type": "X"}]}], r"entities\[0\]: entity span 0:3"),
])
def test_malformed_maintie_is_named(tmp_path: Path, data: object, match: str) -> None:
    with pytest.raises(IngestError, match=match):
        load_maintie(_json(tmp_path, data))


def test_maintie_keeps_nested_entities(tmp_path: Path) -> None:
    item = {"tokens": ["hyd", "pump", "leak"], "entities": [{"start": 0, "end": 2, "type": "PhysicalObject"},
                                                           {"start": 1, "end": 2, "type": "PhysicalObject"}]}
    assert load_maintie(_json(tmp_path, [item]))[0].entities == ((0, 2, "PhysicalObject"), (1, 2, "PhysicalObject"))


def test_entities_bench_too_few_texts_names_the_data_not_a_missing_option(tmp_path: Path) -> None:
    f = _json(tmp_path, [{"tokens": ["pump"], "entities": []}])
    with pytest.raises(ValidationError, match="holds 1 text") as exc:
        bench_entities(f)
    assert "--test-size" not in str(exc.value)


def test_normalize_bench_refuses_one_file_and_empty_splits(tmp_path: Path) -> None:
    one = tmp_path / "all.norm"
    one.write_text("REPL\treplace\nHOSE\those\n\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="trained on and scored on itself"):
        bench_normalize(one)
    for split in ("train", "val"):
        (tmp_path / f"{split}.norm").write_text("REPL\treplace\n\n", encoding="utf-8")
    (tmp_path / "test.norm").write_text("", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"test split .* holds no texts"):
        bench_normalize(tmp_path)


def test_norm_file_with_bom_and_a_folder_in_its_place(tmp_path: Path) -> None:
    from assetgrade.datasets.maintnorm import read_norm_file

    f = tmp_path / "train.norm"
    f.write_bytes("REPL\treplace\n\n".encode("utf-8-sig"))
    assert read_norm_file(f)[0].raw == ("REPL",)
    with pytest.raises(IngestError, match="cannot read"):
        read_norm_file(tmp_path)
