"""Dataset loaders: VOC boxes, folder-per-class sets, ELPV labels from the installed package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.datasets.elpv import ELPV_CLASSES, load_elpv
from assetgrade.datasets.image_folder import load_image_folder
from assetgrade.datasets.neu import parse_voc
from assetgrade.errors import ValidationError

VOC = """<annotation><filename>x.jpg</filename>
<object><name>scratches</name><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>50</xmax><ymax>60</ymax></bndbox></object>
<object><name>scratches</name><bndbox><xmin>70</xmin><ymin>10</ymin><xmax>90</xmax><ymax>20</ymax></bndbox></object>
</annotation>"""


def test_parse_voc(tmp_path: Path) -> None:
    p = tmp_path / "x.xml"
    p.write_text(VOC)
    # 1-based inclusive VOC boxes, read in the 0-based pixel-edge frame
    assert parse_voc(p) == (("scratches", (1.0, 2.0, 50.0, 60.0)), ("scratches", (69.0, 9.0, 90.0, 20.0)))
    p.write_text(VOC.replace("<xmax>50</xmax>", "<xmax>1</xmax>"))
    with pytest.raises(ValidationError, match=r"x\.xml.*empty box"):
        parse_voc(p)
    p.write_text(VOC.replace("<xmax>50</xmax>", "<xmax>inf</xmax>"))  # a box over the whole image would always hit
    with pytest.raises(ValidationError, match=r"x\.xml.*infinite coordinate"):
        parse_voc(p)
    p.write_text(VOC.replace("<xmax>50</xmax>", ""))
    with pytest.raises(ValidationError, match=r"x\.xml.*missing or infinite"):
        parse_voc(p)
    p.write_text("<annotation><object>")
    with pytest.raises(ValidationError, match="cannot parse"):
        parse_voc(p)


def test_image_folder(tmp_path: Path, rng: np.random.Generator) -> None:
    for cls in ("ok", "bad"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "ok" / "notes.txt").write_text("ignored")
    ds = load_image_folder(tmp_path)
    assert ds.classes == ("bad", "ok") and ds.n_images == 6 and ds.labels.count("ok") == 3
    assert len({r.sha256 for r in ds.refs}) == 6 and ds.refs[0].load_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValidationError, match="missing"):
        load_image_folder(tmp_path, classes=["ok", "rusty"])
    with pytest.raises(ValidationError, match="is a file; give the folder"):
        load_image_folder(tmp_path / "ok" / "notes.txt")
    with pytest.raises(ValidationError, match=r"2 class folders \(DIR/<class>/<images>\), found \[\]"):
        load_image_folder(tmp_path / "ok")  # images straight in the folder: no class sub-folders


def test_elpv_labels_are_four_ordered_levels() -> None:
    ds = load_elpv()
    assert ds.n_images == 2624 and ds.ordinal and ds.classes == ELPV_CLASSES
    assert {ds.labels.count(c) for c in ELPV_CLASSES} == {1508, 295, 106, 715}
    assert {a["cell_type"] for a in ds.attributes} == {"mono", "poly"}


def test_image_folder_skips_hidden_files_reads_sub_folders_and_refuses_empty_classes(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    def save(rel: str) -> None:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / rel, format="PNG")

    for rel in ("ok/1.png", "ok/site 2/2.PNG", "bad/3.png", "bad/4.gif"):
        save(rel)
    (tmp_path / "ok" / "._1.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (tmp_path / "ok" / ".DS_Store").write_bytes(b"x")
    save("ok/.thumbs/5.png")
    ds = load_image_folder(tmp_path)
    assert sorted(r.evidence_id for r in ds.refs) == ["bad/3.png", "bad/4.gif", "ok/1.png", "ok/site 2/2.PNG"]
    assert ds.name == tmp_path.name and load_image_folder(tmp_path / "ok" / "..").name == tmp_path.name
    assert ds.labels.count("ok") == 2
    (tmp_path / "rusty").mkdir()
    (tmp_path / "rusty" / "readme.txt").write_text("no images here")
    with pytest.raises(ValidationError, match=r"\['rusty'\] hold no image"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(("row", "message"), [
    (b"images/a.png 0.5 mono", r"labels\.csv:2: probability 0\.5 not in"),  # between two levels
    (b"images/a.png inf mono", r"labels\.csv:2: probability inf not in"),
    (b"images/a.png 1e400 mono", r"labels\.csv:2: probability 1e400 not in"),
    (b"images/a.png 0.0 mon\xe9", r"labels\.csv:2: not UTF-8 text \(byte 0xe9\)"),
])
def test_elpv_labels_refuse_probabilities_off_the_four_levels(tmp_path: Path, row: bytes, message: str) -> None:
    (tmp_path / "images").mkdir()
    Image.new("L", (32, 32)).save(tmp_path / "images" / "a.png")
    (tmp_path / "labels.csv").write_bytes(b"images/a.png 0.3333333333333333 poly\n" + row + b"\n")
    with pytest.raises(ValidationError, match=message):
        load_elpv(tmp_path)
