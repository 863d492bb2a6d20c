"""Importers: manifest CSV/JSON/JSONL, folder-per-class, VOC, COCO, YOLO, work orders; all idempotent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assetgrade.errors import IngestError
from assetgrade.ingest import (
    Ingestor,
    IngestReport,
    ItemSpec,
    WorkOrderColumns,
    coco_items,
    folder_items,
    manifest_items,
    voc_items,
    work_order_items,
    yolo_items,
)
from assetgrade.ingest.report import RowError
from assetgrade.store import get_provenance, load_records, stats
from assetgrade.workspace import Workspace

Counts = Callable[[Workspace], dict[str, int]]


def _run(ws: Workspace, items: object, kind: str = "t") -> IngestReport:
    return Ingestor(ws, kind=kind, source="test", group_size=3).run(items)  # type: ignore[arg-type]


def test_manifest_csv_labels_provenance_and_idempotency(ws: Workspace, tmp_path: Path,
                                                        jpeg: Callable[..., bytes], counts: Counts) -> None:
    (tmp_path / "img").mkdir()
    for i in range(4):
        (tmp_path / "img" / f"{i}.jpg").write_bytes(jpeg(40 * i + 10))
    m = tmp_path / "m.csv"
    m.write_text(
        "asset_id,kind,path,text,asset_type,grade,defect,severity,box,origin,generator,parent,date,cost,evidence_id\n"
        "p1,image,img/0.jpg,,pump,B,corrosion,moderate,\"1,2,10,12\",real,,,,,ev-p1-0\n"
        "p1,image,img/0.jpg,,pump,,dent,minor,\"3,3,5,5\",real,,,,,ev-p1-0\n"
        "p1,image,img/1.jpg,,pump,,,,,augmented,flip,ev-p1-0,,,\n"
        "p1,log,,replaced bearing,pump,,,,,real,,,2021-03-04,1200.50,\n"
        "p2,image,img/2.jpg,,valve,A,,,,synthetic,sd-1.5,,,,\n"
        "p2,document,,inspection report: ok,valve,,,,,real,,,,,\n"
    )
    rep = _run(ws, manifest_items(m))
    assert rep.ok, rep.errors
    assert rep.added == {"assets": 2, "evidence": 5, "labels": 4}  # 2 grades + 2 boxes on ev-p1-0
    recs = {r.asset_id: r for r in load_records(ws)}
    p1 = recs["p1"]
    assert p1.grade == "B" and p1.asset_type == "pump"
    img0 = next(i for i in p1.images if i.evidence_id == "ev-p1-0")
    assert sorted(b[0] for b in img0.boxes) == ["corrosion", "dent"]
    assert {i.origin for i in p1.images} == {"real", "augmented"}
    assert p1.logs[0].cost == pytest.approx(1200.5) and p1.logs[0].date is not None
    aug = next(i for i in p1.images if i.origin == "augmented")
    with ws.session(readonly=True) as s:
        prov = get_provenance(s, aug.evidence_id)
        assert prov.parent_evidence_id == "ev-p1-0" and prov.generator == "flip"
        assert prov.ingest_batch_id == rep.batch_id
        st = stats(s)
    assert st["origin"] == {"augmented": 1, "real": 3, "synthetic": 1}
    assert st["modality"] == {"document": 1, "image": 3, "log": 1}
    assert Path(rep.report_path or "").is_file()
    before = counts(ws)
    rep2 = _run(ws, manifest_items(m))
    assert rep2.ok and rep2.added == {"assets": 0, "evidence": 0, "labels": 0} and rep2.skipped_existing == 5
    assert counts(ws) == before


def test_manifest_json_and_jsonl(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    (tmp_path / "a.jpg").write_bytes(jpeg())
    (tmp_path / "m.json").write_text(json.dumps({"items": [
        {"asset_id": "x", "kind": "image", "path": "a.jpg", "defect": "crack", "box": [1, 1, 5, 5]},
        {"asset_id": "x", "kind": "log", "text": "hairline crack near weld", "cost": 10},
    ]}))
    (tmp_path / "m.jsonl").write_text(
        '{"asset_id": "y", "kind": "log", "text": "ok"}\n{not json}\n[1, 2]\n'
        '{"asset_id": "y", "kind": "log", "text": "leaking seal", "generator_params": {"t": 0.7}}\n')
    rep = _run(ws, manifest_items(tmp_path / "m.json"))
    assert rep.ok and rep.added["evidence"] == 2 and rep.added["labels"] == 1
    rep2 = _run(ws, manifest_items(tmp_path / "m.jsonl"))
    assert rep2.added["evidence"] == 2
    assert sorted(e.row for e in rep2.errors if e.row is not None) == [2, 3]


def test_unknown_manifest_columns_are_named_once_and_nothing_else_changes(ws: Workspace, tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,text,grde,site\np1,log,oil leak,C,north\np2,log,ok,A,south\n")
    rep = _run(ws, manifest_items(m))
    assert rep.ok and rep.added == {"assets": 2, "evidence": 2, "labels": 0}  # the misspelt grades did not land
    assert [str(n) for n in rep.notices] == [
        f"{m}:row 1: column 'grde' is not a manifest column and was ignored (did you mean 'grade'?)",
        f"{m}:row 1: column 'site' is not a manifest column and was ignored; manifest columns: asset_id, kind, "
        "path, text, evidence_id, asset_type, grade, defect, severity, box, annotator, origin, source, generator, "
        "generator_params, parent, capture_time, device, date, cost, media_type, numeric_time",
    ]
    saved = json.loads(Path(rep.report_path or "").read_text())
    assert saved["notices"] == [str(n) for n in rep.notices]
    # JSON lines: named at the first row that has the key
    j = tmp_path / "m.jsonl"
    j.write_text('{"asset_id": "q", "kind": "log", "text": "ok"}\n'
                 '{"asset_id": "q", "kind": "log", "text": "worn", "severty": "minor"}\n'
                 '{"asset_id": "q", "kind": "log", "text": "torn", "severty": "major"}\n')
    rep = _run(ws, manifest_items(j))
    assert [(n.row, n.message.split(" is ")[0]) for n in rep.notices] == [(2, "column 'severty'")]
    assert rep.added["evidence"] == 3


def test_folder_per_class(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    root = tmp_path / "tree"
    for cls, n in (("A", 2), ("C", 3)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            (root / cls / f"{cls}{i}.png").write_bytes(jpeg(10 * i + 5))
    (root / "C" / "notes.txt").write_text("ignored")
    rep = _run(ws, folder_items(root, label_as="grade", asset_type="panel"))
    assert rep.ok and rep.added["evidence"] == 5
    with ws.session(readonly=True) as s:
        assert stats(s)["grade"] == {"A": 2, "C": 3}
    with pytest.raises(IngestError, match="label_as"):
        list(folder_items(root, label_as="colour"))


def _voc_xml(name: str, objects: list[tuple[str, tuple[int, int, int, int]]], size: int = 32) -> str:
    objs = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
        f"<ymax>{b[3]}</ymax></bndbox></object>" for n, b in objects)
    return (f"<annotation><filename>{name}</filename><size><width>{size}</width><height>{size}</height>"
            f"<depth>1</depth></size>{objs}</annotation>")


def test_voc(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    root = tmp_path / "voc"
    (root / "images" / "scratches").mkdir(parents=True)
    (root / "annotations").mkdir()
    for i in range(3):
        (root / "images" / "scratches" / f"s_{i}.jpg").write_bytes(jpeg(20 + i, size=(32, 32)))
    (root / "annotations" / "s_0.xml").write_text(_voc_xml("s_0.jpg", [("scratches", (1, 1, 10, 10)),
                                                                        ("pitted_surface", (5, 5, 20, 30))]))
    (root / "annotations" / "s_1.xml").write_text(_voc_xml("s_1.jpg", [("scratches", (1, 1, 99, 10))]))
    (root / "annotations" / "s_2.xml").write_text("<annotation><filename>")
    (root / "annotations" / "s_3.xml").write_text(_voc_xml("missing.jpg", []))
    rep = _run(ws, voc_items(root, asset_type="steel"))
    assert rep.added["evidence"] == 1 and rep.added["labels"] == 2
    reasons = {Path(e.file).name: e.reason for e in rep.errors}
    assert "not inside" in reasons["s_1.xml"] and "XML" in reasons["s_2.xml"] and "not found" in reasons["s_3.xml"]
    rec = load_records(ws)[0]
    # VOC's 1-based inclusive boxes are stored in the 0-based pixel-edge frame
    assert rec.images[0].boxes == (("corrosion.pitting", (4.0, 4.0, 20.0, 30.0)), ("scratch", (0.0, 0.0, 10.0, 10.0)))


def test_coco(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    (tmp_path / "i1.jpg").write_bytes(jpeg(size=(40, 30)))
    (tmp_path / "i2.jpg").write_bytes(jpeg(99, size=(40, 30)))
    doc = {"images": [{"id": 1, "file_name": "i1.jpg"}, {"id": 2, "file_name": "i2.jpg"},
                      {"id": 3, "file_name": "../outside.jpg"}],
           "annotations": [{"id": 10, "image_id": 1, "category_id": 7, "bbox": [2, 3, 10, 5]},
                           {"id": 11, "image_id": 2, "category_id": 99, "bbox": [0, 0, 1, 1]}],
           "categories": [{"id": 7, "name": "dent"}]}
    (tmp_path / "coco.json").write_text(json.dumps(doc))
    rep = _run(ws, coco_items(tmp_path / "coco.json"))
    assert rep.added["evidence"] == 1
    assert sorted(e.row for e in rep.errors if e.row) == [2, 3]
    assert load_records(ws)[0].images[0].boxes == (("dent", (2.0, 3.0, 12.0, 8.0)),)


def test_yolo(ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    root = tmp_path / "y"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "images" / "a.jpg").write_bytes(jpeg(size=(100, 50)))
    (root / "images" / "b.jpg").write_bytes(jpeg(7, size=(100, 50)))
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    (root / "labels" / "b.txt").write_text("5 0.5 0.5 0.2 0.4\n")
    (root / "classes.txt").write_text("leak\n")
    rep = _run(ws, yolo_items(root, classes_file=root / "classes.txt"))
    assert rep.added["evidence"] == 1 and len(rep.errors) == 1 and rep.errors[0].row == 1
    box = load_records(ws)[0].images[0].boxes[0]
    assert box[0] == "leak" and box[1] == pytest.approx((40.0, 15.0, 60.0, 35.0))


def test_work_orders(ws: Workspace, tmp_path: Path, counts: Counts) -> None:
    p = tmp_path / "wo.csv"
    p.write_text("BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"
                 "2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05\n"
                 "2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05\n"
                 "2005-03-20,B,L/H BUCKET CYL LEAKING.,PM01,407.4\n"
                 "2003-12-31,B,won,t swing,PM01\n"
                 "not-a-date,B,x,PM01,1\n")
    rep = _run(ws, work_order_items(p, WorkOrderColumns(), asset_prefix="exc-", asset_type="excavator"))
    assert rep.added == {"assets": 2, "evidence": 3, "labels": 0}  # genuine repeated rows are kept
    assert {(e.row, e.field) for e in rep.errors} == {(5, "Cost"), (6, "BscStartDate")}
    logs = {r.asset_id: r.logs for r in load_records(ws)}
    assert logs["exc-A"][0].cost == pytest.approx(183.05) and logs["exc-A"][0].attributes["PMType"] == "PM01"
    before = counts(ws)
    rep2 = _run(ws, work_order_items(p, WorkOrderColumns(), asset_prefix="exc-", asset_type="excavator"))
    assert rep2.added["evidence"] == 0 and rep2.skipped_existing == 3 and counts(ws) == before


def test_parser_errors_pass_through_and_group_goes_on(ws: Workspace) -> None:
    items: list[ItemSpec | RowError] = [
        RowError("f.csv", 2, "x", "bad"),
        ItemSpec(where="w", asset_id="a", kind="log", text="t1", source_key="1"),
        ItemSpec(where="w", asset_id="a", kind="sound", text="t2", source_key="2"),
        ItemSpec(where="w", asset_id="a", kind="log", text="   ", source_key="3"),
        ItemSpec(where="w", asset_id="a", kind="log", text="t4", source_key="4"),
    ]
    rep = _run(ws, items)
    assert rep.added["evidence"] == 2
    assert [e.field for e in rep.errors] == ["x", "kind", "text"]
    assert rep.status == "done_with_errors"


def test_ingest_on_postgresql(pg_ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    root = tmp_path / "tree"
    (root / "scratches").mkdir(parents=True)
    for i in range(5):
        (root / "scratches" / f"s{i}.jpg").write_bytes(jpeg(30 * i + 1))
    rep = _run(pg_ws, folder_items(root, label_as="defect"))
    assert rep.ok and rep.added == {"assets": 5, "evidence": 5, "labels": 5}
    assert _run(pg_ws, folder_items(root, label_as="defect")).skipped_existing == 5
    with pg_ws.session(readonly=True) as s:
        st = stats(s)
    assert st["defect"] == {"scratch": 5} and st["class"] == {"scratches": 5}


@pytest.mark.parametrize(
    ("body", "message", "where"),
    [
        (b"names: [leak, crack]\nnames: [dent]\n", "duplicate key 'names' on line 2", ":line 2"),
        (b"names: {0: leak, 0: dent}\n", "duplicate key 0", ":line 1"),
        (b"names: [leak\n", "not valid YAML", ":line 2"),
        (b"- leak\n- crack\n", "no 'names' list", ""),
        (b"names: [caf\xe9]\n", "not UTF-8", ""),
    ],
)
def test_yolo_data_yaml_errors_name_the_file(tmp_path: Path, body: bytes, message: str, where: str) -> None:
    (tmp_path / "data.yaml").write_bytes(body)
    with pytest.raises(IngestError, match=message) as exc:
        list(yolo_items(tmp_path, classes_file=tmp_path / "data.yaml"))
    assert exc.value.where == str(tmp_path / "data.yaml") + where
