"""Real-data loaders on a user's own copy: byte-order marks, duplicate ids, missing folders named with their layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.datasets.cmapss import read_cmapss_table
from assetgrade.datasets.elpv import load_elpv
from assetgrade.datasets.linked_sources import SAMPLES_DIR
from assetgrade.datasets.maintie import load_maintie
from assetgrade.datasets.neu import NEU_CLASSES, load_neu
from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import NotFoundError, ValidationError

ITEM = {"text": "pump leak", "tokens": ["pump", "leak"],
        "entities": [{"start": 0, "end": 1, "type": "PhysicalObject"}]}


def test_maintie_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Windows tools (Notepad, PowerShell's Out-File utf8) write one; the other text loaders accept it
    f = tmp_path / "gold_release.json"
    f.write_bytes(json.dumps([ITEM]).encode("utf-8-sig"))
    assert load_maintie(f)[0].tokens == ("pump", "leak")


def _elpv(tmp_path: Path, rows: bytes) -> Path:
    (tmp_path / "images").mkdir()
    for name in ("a", "b"):
        Image.new("L", (32, 32), 10).save(tmp_path / "images" / f"{name}.png")
    (tmp_path / "labels.csv").write_bytes(rows)
    return tmp_path


def test_elpv_labels_with_a_byte_order_mark_and_windows_line_endings(tmp_path: Path) -> None:
    root = _elpv(tmp_path, "images/a.png 0.0 mono\r\nimages/b.png 1.0 poly\r\n".encode("utf-8-sig"))
    ds = load_elpv(root)
    assert [r.evidence_id for r in ds.refs] == ["a", "b"] and ds.labels == ["p0", "p100"]


def test_elpv_image_listed_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    # read twice it would count twice in every metric (and with two levels, contradict itself)
    root = _elpv(tmp_path, b"images/a.png 0.0 mono\nimages/b.png 1.0 poly\nimages/a.png 1.0 mono\n")
    with pytest.raises(ValidationError, match=r"labels\.csv:3: images/a\.png is listed again \(first on line 1\)"):
        load_elpv(root)


def test_elpv_missing_copy_names_the_folder_and_its_layout(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"none: labels\.csv not found \(an ELPV copy holds labels\.csv"):
        load_elpv(tmp_path / "none")


def _neu(tmp_path: Path, rng: np.random.Generator, names: dict[str, list[str]]) -> Path:
    for cls in NEU_CLASSES:
        (tmp_path / "images" / cls).mkdir(parents=True)
        for name in names.get(cls, [f"{cls}_1.jpg"]):
            Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / "images" / cls / name)
    return tmp_path


def test_neu_same_file_name_in_two_class_folders_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    # both would get evidence id '1' and annotations/1.xml: one image's boxes on the other
    root = _neu(tmp_path, rng, {"crazing": ["1.jpg"], "patches": ["1.jpg"]})
    with pytest.raises(ValidationError, match=r"crazing/1\.jpg and .*patches/1\.jpg both have the id '1'"):
        load_neu(root)


def test_neu_same_stem_with_two_suffixes_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    root = _neu(tmp_path, rng, {"crazing": ["crazing_1.jpg", "crazing_1.bmp"]})
    with pytest.raises(ValidationError, match=r"both have the id 'crazing_1'"):
        load_neu(root)


def test_neu_class_folder_without_images_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    root = _neu(tmp_path, rng, {"scratches": []})
    with pytest.raises(ValidationError, match=r"scratches holds no image"):
        load_neu(root)
    assert load_neu(_neu(tmp_path / "ok", rng, {})).n_images == 6


@pytest.mark.parametrize(("name", "layout"), [
    ("cmapss", "train_FDxxx.txt"),
    ("neu-det", "images/<class>/"),
    ("maintie", "data/gold_release.json"),
    ("maintnorm", "train.norm"),
    ("excavator-work-orders", "excavators-cleaned.csv"),
])
def test_missing_data_folder_names_the_set_and_its_layout(tmp_path: Path, name: str, layout: str) -> None:
    with pytest.raises(NotFoundError, match=rf"{name} data folder {tmp_path / 'none'} does not exist") as exc:
        dataset_dir(name, tmp_path / "none")
    assert layout in str(exc.value)


def test_data_set_absent_from_the_shared_folder_names_where_it_looked(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETGRADE_DATA", str(tmp_path))
    with pytest.raises(NotFoundError, match=rf"no cmapss/ in {tmp_path} \(from ASSETGRADE_DATA\)") as exc:
        dataset_dir("cmapss")
    assert "train_FDxxx.txt" in str(exc.value)


def test_shipped_samples_are_read_by_the_loaders_and_have_a_licence_notice() -> None:
    assert len(load_maintie(SAMPLES_DIR / "maintie_gold_sample.json")) == 200
    train = read_cmapss_table(SAMPLES_DIR / "cmapss_train_FD001_sample.txt.gz")
    test = read_cmapss_table(SAMPLES_DIR / "cmapss_test_FD001_sample.txt.gz")
    assert train["unit"].nunique() == 20 and test["unit"].nunique() == 100
    assert len((SAMPLES_DIR / "cmapss_RUL_FD001_sample.txt").read_text().split()) == 100
    notice = (SAMPLES_DIR / "NOTICE.md").read_text(encoding="utf-8")
    data = [p.name for p in SAMPLES_DIR.iterdir() if p.suffix != ".md"]
    assert data and all(f"`{n}`" in notice for n in data), [n for n in data if f"`{n}`" not in notice]
    assert "MIT" in notice and "public domain" in notice and (SAMPLES_DIR / "MAINTIE_LICENSE.md").exists()


def _cmapss_rows(units: int = 2, cycles: int = 3) -> list[str]:
    vals = " ".join(f"{v:.4f}" for v in np.linspace(0.1, 2.4, 24))
    return [f"{u} {c} {vals}" for u in range(1, units + 1) for c in range(1, cycles + 1)]


@pytest.mark.parametrize(("encode", "what"), [
    (lambda t: t.encode(), "as NASA ships it"),
    (lambda t: t.replace("\n", "  \n").encode(), "trailing blanks (the original files end each row with two)"),
    (lambda t: t.replace("\n", "\r\n").encode("utf-8-sig"), "Windows line endings and a byte-order mark"),
    (lambda t: ("\n" + t.replace(" ", "\t") + "\n\n").encode(), "tabs and blank lines"),
])
def test_cmapss_copy_variants_read_the_same_rows(tmp_path: Path, encode: Callable[[str], bytes], what: str) -> None:
    f = tmp_path / "train_FD001.txt"
    f.write_bytes(encode("\n".join(_cmapss_rows()) + "\n"))
    table = read_cmapss_table(f)
    assert table.shape == (6, 26) and table["cycle"].tolist() == [1, 2, 3, 1, 2, 3], what


def test_cmapss_truncated_last_line_or_extra_column_is_named(tmp_path: Path) -> None:
    rows = _cmapss_rows()
    f = tmp_path / "train_FD001.txt"
    f.write_text("\n".join([*rows[:-1], rows[-1][:30]]))
    with pytest.raises(ValidationError, match=r"train_FD001\.txt:row 6: missing or infinite value"):
        read_cmapss_table(f)
    f.write_text("\n".join(r + " 0.5" for r in rows) + "\n")
    with pytest.raises(ValidationError, match=r"expected 26 columns .* found 27"):
        read_cmapss_table(f)
