"""VOC boxes stored in the 1-based frame before the conversion (bfa2ff9) are replaced, not duplicated, on re-ingest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from assetgrade.ingest import Ingestor, IngestReport, ItemSpec, LabelSpec, voc_items
from assetgrade.ingest.report import RowError
from assetgrade.store import load_records
from assetgrade.store.audit import list_events, verify_chain
from assetgrade.store.schema import Label
from assetgrade.workspace import Workspace

Box = tuple[int, int, int, int]


def _voc_tree(root: Path, jpeg: Callable[..., bytes], objects: list[tuple[str, Box]]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    (root / "images" / "p_0.jpg").write_bytes(jpeg(60, size=(32, 32)))
    objs = "".join(f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
                   f"<ymax>{b[3]}</ymax></bndbox></object>" for n, b in objects)
    (root / "annotations" / "p_0.xml").write_text(
        f"<annotation><filename>p_0.jpg</filename><size><width>32</width><height>32</height></size>{objs}"
        "</annotation>")
    return root


def _as_before_the_fix(items: Iterator[ItemSpec | RowError], raw: list[Box]) -> Iterator[ItemSpec | RowError]:
    """The items the VOC reader made before bfa2ff9: each box as the file's raw 1-based numbers."""
    for it in items:
        assert isinstance(it, ItemSpec)
        it.labels = [_plain(lb, tuple(float(v) for v in b)) for lb, b in zip(it.labels, raw, strict=True)]
        yield it


def _plain(lb: LabelSpec, box: tuple[float, ...] | None) -> LabelSpec:
    """``lb`` with ``box`` and nothing else a reader may add: the label as a reader without the fix built it."""
    return LabelSpec(lb.kind, lb.value, box=None if box is None else (box[0], box[1], box[2], box[3]), field=lb.field)


def _voc(ws: Workspace, items: object) -> IngestReport:
    return Ingestor(ws, kind="voc", source="voc", group_size=5).run(items)  # type: ignore[arg-type]


def _boxes(ws: Workspace) -> list[tuple[str, tuple[float, float, float, float]]]:
    return sorted((v, b) for v, b in load_records(ws)[0].images[0].boxes)


OBJECTS: list[tuple[str, Box]] = [("scratches", (1, 1, 10, 10)), ("pitted_surface", (5, 5, 20, 30))]
NOW = [("corrosion.pitting", (4.0, 4.0, 20.0, 30.0)), ("scratch", (0.0, 0.0, 10.0, 10.0))]


def test_old_frame_boxes_are_replaced_on_reingest_with_an_audit_trail(
        store_ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    ws = store_ws  # SQLite and PostgreSQL: the old labels are found through the audit events' JSON
    root = _voc_tree(tmp_path / "voc", jpeg, OBJECTS)
    old = _voc(ws, _as_before_the_fix(voc_items(root), [b for _, b in OBJECTS]))
    assert old.ok and old.added["labels"] == 2
    assert _boxes(ws) == [("corrosion.pitting", (5.0, 5.0, 20.0, 30.0)), ("scratch", (1.0, 1.0, 10.0, 10.0))]
    with ws.session(readonly=True) as s:
        old_ids = set(s.scalars(select(Label.id)))

    rep = _voc(ws, voc_items(root))
    assert rep.ok, rep.errors
    assert _boxes(ws) == NOW  # one box per object, in the 0-based frame: no off-by-one duplicates
    assert rep.added["labels"] == 2 and rep.skipped_existing == 1
    assert any("1-based" in n.message and "replaced" in n.message for n in rep.notices), rep.notices
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok
        new_ids = set(s.scalars(select(Label.id)))
        events = [e for e in list_events(s, action="ingest.rows", limit=1000) if e.entity_id == rep.batch_id]
    assert not old_ids & new_ids
    replaced = events[0].payload["labels_replaced"]
    assert {r["id"] for r in replaced} == old_ids and {r["by"] for r in replaced} == new_ids
    assert sorted((r["value"], tuple(r["box"]), tuple(r["box_now"])) for r in replaced) == [
        ("corrosion.pitting", (5.0, 5.0, 20.0, 30.0), (4.0, 4.0, 20.0, 30.0)),
        ("scratch", (1.0, 1.0, 10.0, 10.0), (0.0, 0.0, 10.0, 10.0))]

    again = _voc(ws, voc_items(root))  # idempotent from here on
    assert again.ok and again.added["labels"] == 0 and not again.notices
    assert _boxes(ws) == NOW


def test_duplicates_already_stored_lose_their_old_frame_box(
        ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    """A store re-ingested by bfa2ff9's reader holds both boxes: the next ingest drops the old-frame one."""
    root = _voc_tree(tmp_path / "voc", jpeg, OBJECTS)
    _voc(ws, _as_before_the_fix(voc_items(root), [b for _, b in OBJECTS]))
    # bfa2ff9's reader added the converted boxes beside the old ones (what the fix-less writer did)
    _voc(ws, (replace(it, labels=[_plain(lb, lb.box) for lb in it.labels])
              for it in voc_items(root) if isinstance(it, ItemSpec)))
    assert len(_boxes(ws)) == 4
    rep = _voc(ws, voc_items(root))
    assert rep.ok and rep.added["labels"] == 0
    assert _boxes(ws) == NOW


def test_a_new_frame_box_equal_to_another_objects_old_box_is_kept(
        ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    """Raw (6, 6, 20, 30) is stored as (5, 5, 20, 30), the old-frame box of raw (5, 5, 20, 30): both stay."""
    objects: list[tuple[str, Box]] = [("scratches", (5, 5, 20, 30)), ("scratches", (6, 6, 20, 30))]
    root = _voc_tree(tmp_path / "voc", jpeg, objects)
    first = _voc(ws, voc_items(root))
    assert first.added["labels"] == 2
    rep = _voc(ws, voc_items(root))
    assert rep.ok and rep.added["labels"] == 0 and not rep.notices
    assert _boxes(ws) == [("scratch", (4.0, 4.0, 20.0, 30.0)), ("scratch", (5.0, 5.0, 20.0, 30.0))]


def test_a_box_from_another_kind_of_import_is_not_taken_for_an_old_voc_box(
        ws: Workspace, tmp_path: Path, jpeg: Callable[..., bytes]) -> None:
    """Only a label a VOC ingest wrote can be a VOC box in the old frame; a manifest's box that happens to
    equal it is another annotation and stays."""
    root = _voc_tree(tmp_path / "voc", jpeg, OBJECTS[:1])
    other = Ingestor(ws, kind="manifest", source="m.csv").run(
        _as_before_the_fix(voc_items(root), [OBJECTS[0][1]]))
    assert other.added["labels"] == 1
    rep = _voc(ws, voc_items(root))
    assert rep.ok and rep.added["labels"] == 1 and not rep.notices
    assert _boxes(ws) == [("scratch", (0.0, 0.0, 10.0, 10.0)), ("scratch", (1.0, 1.0, 10.0, 10.0))]
