"""``ingest voc|coco|yolo --supersede``: a corrected image under the same file name replaces the stored one, as
for ``ingest folder``; without it the row is refused naming both ways out, and a rerun stores nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for

runner = CliRunner()
WIDE = {"COLUMNS": "400"}


def _jpeg(color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 24), color).save(buf, "JPEG")
    return buf.getvalue()


def _voc(root: Path) -> tuple[list[str], Path]:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>crazing</name><bndbox><xmin>2</xmin><ymin>2</ymin>"
        "<xmax>10</xmax><ymax>10</ymax></bndbox></object></annotation>", encoding="utf-8")
    return ["voc", str(root)], root / "images" / "a.jpg"


def _coco(root: Path) -> tuple[list[str], Path]:
    root.mkdir(parents=True, exist_ok=True)
    doc = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "crazing"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 8, 8]}]}
    (root / "coco.json").write_text(json.dumps(doc), encoding="utf-8")
    return ["coco", str(root / "coco.json")], root / "a.jpg"


def _yolo(root: Path) -> tuple[list[str], Path]:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.25 0.25\n", encoding="utf-8")
    (root / "classes.txt").write_text("crazing\n", encoding="utf-8")
    return ["yolo", str(root), "--classes", str(root / "classes.txt")], root / "images" / "a.jpg"


def _ids(ws: Path) -> dict[str, object]:
    r = runner.invoke(build_app(), ["assets", "show", "a", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    return {str(e["id"]): e["withdrawn"] for e in json.loads(r.output)["evidence"]}


def _report(output: str) -> dict[str, object]:
    return dict(json.loads(Path(output.split("report: ")[-1].strip()).read_text(encoding="utf-8")))


@pytest.mark.parametrize("make", [_voc, _coco, _yolo], ids=["voc", "coco", "yolo"])
def test_a_corrected_image_is_refused_then_superseded(tmp_path: Path,
                                                      make: Callable[[Path], tuple[list[str], Path]]) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0
    args, image = make(tmp_path / "set")
    image.write_bytes(_jpeg(90))
    r = runner.invoke(build_app(), ["ingest", *args, "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0, r.output
    [old] = _ids(ws)
    image.write_bytes(_jpeg(200))  # the same file name, corrected pixels
    r = runner.invoke(build_app(), ["ingest", *args, "-w", str(ws)], env=WIDE)
    assert r.exception is not None and exit_code_for(r.exception) == 2, r.output
    [err] = _report(r.output)["errors"]  # type: ignore[misc]
    assert err["reason"].startswith(f"asset 'a' already has an image from the same source ('a.jpg') with other"
                                    f" content: {old}, ingested ")
    assert "run the same command with --supersede" in err["reason"] and "give this file another name" in err["reason"]
    assert list(_ids(ws)) == [old]
    r = runner.invoke(build_app(), ["ingest", *args, "--supersede", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0, r.output
    shown = _ids(ws)
    [new] = [k for k in shown if k != old]
    assert shown[new] is None and isinstance(shown[old], dict)
    assert shown[old]["reason"].startswith(f"superseded by {new} from ")  # type: ignore[index]
    rep = _report(r.output)
    assert [(x["old"], x["new"]) for x in rep["superseded"]] == [(old, new)]  # type: ignore[attr-defined]
    assert rep["added"] == {"assets": 0, "evidence": 1, "labels": 1}  # the box, on the new item
    r = runner.invoke(build_app(), ["ingest", *args, "--supersede", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0 and "superseded" not in r.output, r.output
    assert _report(r.output)["skipped_existing"] == 1 and _ids(ws) == shown
