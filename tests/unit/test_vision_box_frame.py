"""One box frame for heat maps and annotations: 0-based pixel edges, VOC boxes converted when read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.datasets.neu import parse_voc
from assetgrade.ingest import ItemSpec, voc_items
from assetgrade.modalities.vision.heatmaps import peak_in_boxes, peak_region
from assetgrade.modalities.vision.images import orient_box

# a box over pixel columns 3..6 and rows 2..4 (0-based), i.e. the edges x in [3, 7), y in [2, 5)
BOX = (3.0, 2.0, 7.0, 5.0)


def _heat(x: int, y: int, size: tuple[int, int] = (12, 10)) -> np.ndarray:
    h = np.zeros((size[1], size[0]), dtype=np.float32)
    h[y, x] = 1.0
    return h


@pytest.mark.parametrize(("x", "y", "inside"), [
    (3, 3, True),    # first column of the box
    (6, 3, True),    # last column
    (2, 3, False),   # the column left of the box
    (7, 3, False),   # the column right of it: x1 is an edge, not a pixel of the box
    (4, 2, True),    # first row
    (4, 4, True),    # last row
    (4, 1, False),   # the row above
    (4, 5, False),   # the row below
])
def test_peak_on_the_box_edges(x: int, y: int, inside: bool) -> None:
    heat = _heat(x, y)
    assert peak_region(heat)[0] == (x, y)
    assert peak_in_boxes(heat, [BOX]) is inside


def test_peak_region_box_is_in_the_same_frame() -> None:
    """The region around a single-pixel peak is that pixel, and it counts as inside its own box."""
    heat = _heat(6, 4)
    _, region = peak_region(heat)
    assert region == (6, 4, 7, 5)
    assert peak_in_boxes(heat, [region])
    assert not peak_in_boxes(_heat(7, 4), [region]) and not peak_in_boxes(_heat(6, 5), [region])


VOC = """<annotation><filename>a.png</filename><size><width>12</width><height>10</height><depth>1</depth></size>
<object><name>scratches</name><bndbox><xmin>4</xmin><ymin>3</ymin><xmax>7</xmax><ymax>5</ymax></bndbox></object>
</annotation>"""
# 1-based inclusive: columns 4..7 and rows 3..5 of VOC are 0-based columns 3..6 and rows 2..4, i.e. BOX


def test_neu_voc_boxes_are_read_into_the_edge_frame(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    p.write_text(VOC)
    ((name, box),) = parse_voc(p)
    assert name == "scratches" and box == BOX
    assert peak_in_boxes(_heat(6, 4), [box]) and not peak_in_boxes(_heat(7, 4), [box])
    assert peak_in_boxes(_heat(3, 2), [box]) and not peak_in_boxes(_heat(3, 1), [box])


def test_voc_xmin_1_is_the_first_column(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    p.write_text(VOC.replace("<xmin>4</xmin><ymin>3</ymin>", "<xmin>1</xmin><ymin>1</ymin>")
                 .replace("<xmax>7</xmax><ymax>5</ymax>", "<xmax>12</xmax><ymax>10</ymax>"))
    assert parse_voc(p)[0][1] == (0.0, 0.0, 12.0, 10.0)  # the whole 12 x 10 image


def test_voc_ingest_stores_the_edge_frame(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    Image.fromarray(np.full((16, 20), 128, np.uint8)).save(tmp_path / "images" / "a.png")  # ingest needs 16 px
    xml = VOC.replace("<width>12</width><height>10</height>", "<width>20</width><height>16</height>")
    (tmp_path / "annotations" / "a.xml").write_text(xml)
    (item,) = list(voc_items(tmp_path))
    assert isinstance(item, ItemSpec)
    assert [lb.box for lb in item.labels] == [BOX]
    # a box out to the last pixel (xmax = width in VOC) stays inside the image
    (tmp_path / "annotations" / "a.xml").write_text(xml.replace("<xmax>7</xmax><ymax>5</ymax>",
                                                                "<xmax>20</xmax><ymax>16</ymax>"))
    (item,) = list(voc_items(tmp_path))
    assert isinstance(item, ItemSpec)
    assert [lb.box for lb in item.labels] == [(3.0, 2.0, 20.0, 16.0)]


def test_mirrored_edge_frame_box_keeps_the_same_pixels() -> None:
    """orient_box maps edges (w - x1, ..., w - x0): right for the edge frame, one pixel off for VOC's."""
    w, h = 12, 10
    mirrored = orient_box(BOX, (w, h), 2)  # EXIF 2: mirror left-right
    for x in range(w):
        assert peak_in_boxes(_heat(x, 3), [BOX]) == peak_in_boxes(_heat(w - 1 - x, 3), [mirrored])
