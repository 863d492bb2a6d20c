"""Bad input named in issue 2: each gets an error naming where, and nothing half-written is left in the store."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import IngestError
from assetgrade.ingest import Ingestor, IngestReport, SeriesOptions, manifest_items, series_items
from assetgrade.ingest.report import RowError
from assetgrade.workspace import Workspace

Counts = Callable[[Workspace], dict[str, int]]


def _ingest_manifest(ws: Workspace, path: Path, **kw: object) -> IngestReport:
    return Ingestor(ws, kind="manifest", source=str(path)).run(manifest_items(path, **kw))  # type: ignore[arg-type]


def _only_error(rep: IngestReport) -> RowError:
    assert len(rep.errors) == 1, rep.errors
    return rep.errors[0]


def _write_manifest(folder: Path, rows: list[str], header: str = "asset_id,kind,path,defect,box",
                    name: str = "manifest.csv") -> Path:
    p = folder / name
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def images(tmp_path: Path, jpeg: Callable[..., bytes]) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "good.jpg").write_bytes(jpeg(100))
    (d / "good2.jpg").write_bytes(jpeg(200))
    return d


def test_corrupt_and_truncated_images(ws: Workspace, images: Path, jpeg: Callable[..., bytes], counts: Counts,
                                      consistent: Callable[[Workspace], bool]) -> None:
    full = jpeg(50, size=(64, 64))
    (images / "trunc.jpg").write_bytes(full[: len(full) // 2])
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    m = _write_manifest(images, ["a1,image,good.jpg,,", "a2,image,trunc.jpg,,", "a3,image,corrupt.jpg,,"])
    rep = _ingest_manifest(ws, m)
    bad = {(e.row, e.field): e.reason for e in rep.errors}
    assert set(bad) == {(3, "path"), (4, "path")}
    assert "truncated" in bad[(3, "path")] or "corrupt" in bad[(3, "path")]
    assert rep.added["evidence"] == 1
    assert counts(ws)["assets"] == 1  # no asset row left for the rejected images
    assert consistent(ws)


def test_decompression_bomb_is_refused(ws: Workspace, images: Path, counts: Counts) -> None:
    buf = io.BytesIO()
    Image.new("L", (2000, 2000)).save(buf, "PNG")  # 4 MP of zeros compresses to a few KB
    (images / "bomb.png").write_bytes(buf.getvalue())
    ws.config.max_image_pixels = 1_000_000
    m = _write_manifest(images, ["bomb,image,bomb.png,,", "ok,image,good.jpg,,"])
    err = _only_error(_ingest_manifest(ws, m))
    assert err.row == 2 and "decompression bomb" in err.reason
    assert counts(ws)["evidence"] == 1


def test_unsupported_mode(ws: Workspace, images: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).convert("LAB").save(buf, "TIFF")
    (images / "lab.tif").write_bytes(buf.getvalue())
    m = _write_manifest(images, ["c,image,lab.tif,,"])
    err = _only_error(_ingest_manifest(ws, m))
    assert err.row == 2 and "unsupported image mode LAB" in err.reason


def test_cmyk_and_float_images_the_vision_extractor_reads_are_ingested(ws: Workspace, images: Path) -> None:
    from assetgrade.modalities.vision.images import decode_image
    from assetgrade.store import load_records

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).convert("CMYK").save(buf, "JPEG")  # print workflows, scanners
    (images / "cmyk.jpg").write_bytes(buf.getvalue())
    thermal = np.linspace(20.0, 80.0, 32 * 32, dtype=np.float32).reshape(32, 32)
    thermal[:4, :4] = np.nan  # the camera's "no reading"
    buf = io.BytesIO()
    Image.fromarray(thermal, mode="F").save(buf, "TIFF")
    (images / "thermal.tif").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32), np.nan, np.float32), mode="F").save(buf, "TIFF")
    (images / "blank.tif").write_bytes(buf.getvalue())
    m = _write_manifest(images, ["c,image,cmyk.jpg,,", "t,image,thermal.tif,,", "b,image,blank.tif,,"])
    rep = _ingest_manifest(ws, m)
    err = _only_error(rep)  # the one image no model could read is refused here, not at grading
    assert err.row == 4 and "no finite pixel" in err.reason
    assert rep.added["evidence"] == 2
    recs = {r.asset_id: r for r in load_records(ws)}
    for aid in ("c", "t"):
        assert decode_image(recs[aid].images[0].load_bytes()).mode == "RGB"


def test_empty_files(ws: Workspace, images: Path, counts: Counts) -> None:
    (images / "empty.jpg").write_bytes(b"")
    m = _write_manifest(images, ["e,image,empty.jpg,,", "g,image,good.jpg,,"])
    err = _only_error(_ingest_manifest(ws, m))
    assert err.row == 2 and "empty" in err.reason
    empty_manifest = images / "empty.csv"
    empty_manifest.write_text("")
    with pytest.raises(IngestError, match="empty"):
        list(manifest_items(empty_manifest))
    assert counts(ws)["evidence"] == 1


def test_non_utf8_csv_names_row_and_encoding_option(ws: Workspace, images: Path, counts: Counts) -> None:
    p = images / "m.csv"
    p.write_bytes(b"asset_id,kind,text\na1,log,bearing noisy\na2,log,r\xe9paration pompe\na3,log,ok\n")
    rep = _ingest_manifest(ws, p)
    err = _only_error(rep)
    assert err.row == 3 and "--encoding" in err.reason and "0xe9" in err.reason
    assert counts(ws)["evidence"] == 2
    rep2 = _ingest_manifest(ws, p, encoding="latin-1")
    assert rep2.ok and rep2.added["evidence"] == 1 and rep2.skipped_existing == 2


def test_mixed_encoding_csv(ws: Workspace, images: Path) -> None:
    p = images / "m.csv"
    p.write_bytes("asset_id,kind,text\na1,log,Ölwechsel ✓\n".encode() + b"a2,log,\xd6lwechsel\n")
    err = _only_error(_ingest_manifest(ws, p))
    assert err.row == 3 and "mixes encodings" in err.reason


def test_missing_columns(ws: Workspace, images: Path) -> None:
    p = _write_manifest(images, ["a1,good.jpg"], header="asset_id,path")
    with pytest.raises(IngestError) as exc:
        list(manifest_items(p))
    assert "kind" in str(exc.value) and "row 1" in str(exc.value)
    p2 = _write_manifest(images, ["a1,image"], header="asset_id,kind")
    with pytest.raises(IngestError, match="path or text"):
        list(manifest_items(p2))


def test_duplicate_ids_with_different_content(ws: Workspace, images: Path, counts: Counts) -> None:
    m = _write_manifest(images, ["a1,image,good.jpg,,,e1"], header="asset_id,kind,path,defect,box,evidence_id")
    assert _ingest_manifest(ws, m).added["evidence"] == 1
    m2 = _write_manifest(images, ["a1,image,good2.jpg,,,e1", "a2,image,good.jpg,,,e2"],
                         header="asset_id,kind,path,defect,box,evidence_id", name="m2.csv")
    rep = _ingest_manifest(ws, m2)
    err = _only_error(rep)
    assert err.row == 2 and err.field == "evidence_id" and err.error == "ConflictError"
    # same content again: a no-op
    rep3 = _ingest_manifest(ws, m)
    assert rep3.ok and rep3.skipped_existing == 1 and rep3.added["evidence"] == 0
    # the same asset id with another asset type is a conflict for that row only
    _ingest_manifest(ws, _write_manifest(images, ["t1,image,good.jpg,pump"], header="asset_id,kind,path,asset_type",
                                         name="m3.csv"))
    m4 = _write_manifest(images, ["t1,image,good2.jpg,valve", "t2,image,good2.jpg,valve"],
                         header="asset_id,kind,path,asset_type", name="m4.csv")
    err4 = _only_error(_ingest_manifest(ws, m4))
    assert err4.row == 2 and err4.field == "asset_type" and "pump" in err4.reason
    assert counts(ws)["evidence"] == 4  # e1, e2, t1 and t2 (the conflicting t1 row added nothing)


def test_unknown_ontology_terms(ws: Workspace, images: Path, counts: Counts) -> None:
    m = _write_manifest(images, ["a1,image,good.jpg,flux_capacitor_burn,", "a2,image,good2.jpg,rusty,"])
    err = _only_error(_ingest_manifest(ws, m))
    assert err.row == 2 and err.field == "defect"
    assert "flux_capacitor_burn" in err.reason and "corrosion" in err.reason  # names the allowed terms
    m2 = images / "g.csv"
    m2.write_text("asset_id,kind,text,grade\na3,log,fine,Z\n")
    err2 = _only_error(_ingest_manifest(ws, m2))
    assert err2.field == "grade" and "A, B, C, D" in err2.reason
    assert counts(ws)["assets"] == 1


def test_escaping_paths(ws: Workspace, images: Path, tmp_path: Path, jpeg: Callable[..., bytes],
                        counts: Counts) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg(1))
    (images / "link.jpg").symlink_to(outside)
    m = _write_manifest(images, ["a1,image,../../etc/passwd,,", "a2,image,link.jpg,,", "a3,image,/etc/passwd,,",
                                 "a4,image,good.jpg,,"])
    rep = _ingest_manifest(ws, m)
    rows = {e.row: e for e in rep.errors}
    assert set(rows) == {2, 3, 4}
    assert all(e.field == "path" for e in rep.errors)
    assert "outside" in rows[2].reason and "outside" in rows[3].reason and "absolute" in rows[4].reason
    assert counts(ws)["evidence"] == 1


def _series_csv(p: Path, t: list[object], v: list[object]) -> Path:
    p.write_text("timestamp,temp\n" + "\n".join(f"{a},{b}" for a, b in zip(t, v, strict=True)) + "\n")
    return p


def _series(ws: Workspace, p: Path, **kw: object) -> IngestReport:
    return Ingestor(ws, kind="series", source=str(p)).run(series_items([p], SeriesOptions(**kw)))  # type: ignore[arg-type]


def test_sensor_nan_runs(ws: Workspace, tmp_path: Path, counts: Counts) -> None:
    p = _series_csv(tmp_path / "s.csv", [0, 1, 2, 3, 4, 5], [1.0, "nan", "", 4.0, 5.0, 6.0])
    err = _only_error(_series(ws, p))
    assert err.row == 3 and err.field == "temp" and "2 NaN" in err.reason and "--repair" in err.reason
    assert counts(ws)["evidence"] == 0
    rep = _series(ws, p, repair=True)
    assert rep.ok and rep.added["evidence"] == 1
    from assetgrade.store import load_records

    s = load_records(ws)[0].series[0]
    assert np.allclose(s.load()["temp"].to_numpy(), [1, 2, 3, 4, 5, 6])
    with ws.session(readonly=True) as sess:
        from assetgrade.store import get_provenance

        assert "interpolated 2 NaN" in " ".join(get_provenance(sess, s.evidence_id).notes or [])
    p2 = _series_csv(tmp_path / "s2.csv", [0, 1, 2, 3, 4], [1.0, "", "", "", 5.0])
    err2 = _only_error(_series(ws, p2, repair=True, max_gap=2))
    assert "max-gap" in err2.reason


def test_sensor_non_monotonic_and_duplicated_timestamps(ws: Workspace, tmp_path: Path, counts: Counts) -> None:
    p = _series_csv(tmp_path / "back.csv", [0, 1, 2, 1.5, 3], [1, 2, 3, 4, 5])
    err = _only_error(_series(ws, p))
    assert err.row == 5 and "backwards" in err.reason
    p2 = _series_csv(tmp_path / "dup.csv", ["2024-01-01T00:00:00", "2024-01-01T00:00:01",
                                            "2024-01-01T00:00:01", "2024-01-01T00:00:02"], [1, 2, 3, 4])
    err2 = _only_error(_series(ws, p2))
    assert err2.row == 4 and "duplicated" in err2.reason and "row 3" in err2.reason
    assert counts(ws)["evidence"] == 0
    rep = _series(ws, p, repair=True)
    rep2 = _series(ws, p2, repair=True)
    assert rep.ok and rep2.ok
    from assetgrade.store import load_records

    recs = {r.asset_id: r for r in load_records(ws)}
    back = recs["back"].series[0].load()
    assert list(back.index) == [0, 1, 1.5, 2, 3]
    assert recs["dup"].series[0].sampling_rate_hz == pytest.approx(1.0)
    assert len(recs["dup"].series[0].load()) == 3


def test_sensor_unit_mismatch_and_units_row(ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text("time,pressure,temp\nunits,bar,degC\n0,1.0,20\n1,1.1,21\n")
    err = _only_error(_series(ws, p, units={"pressure": "psi"}))
    assert "unit mismatch" in err.reason and err.field == "pressure"
    rep = _series(ws, p, units={"pressure": "bar"})
    assert rep.ok
    from assetgrade.store import load_records

    s = load_records(ws)[0].series[0]
    assert s.units == {"pressure": "bar", "temp": "degC"} and s.sampling_rate_hz == pytest.approx(1.0)
    bad = tmp_path / "v.csv"
    bad.write_text("time,temp\n0,20\n1,hot\n")
    err2 = _only_error(_series(ws, bad))
    assert err2.row == 3 and "'hot'" in err2.reason


def test_series_split_by_asset_names_file_rows(ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "multi.csv"
    p.write_text("unit,time,vib\nA,0,1\nA,1,2\nB,0,3\nB,1,4\nB,1,5\n")
    rep = _series(ws, p, asset_col="unit", time_col="time")
    assert rep.added["evidence"] == 1  # asset A lands, asset B is rejected
    err = _only_error(rep)
    assert err.row == 6 and "also at row 5" in err.reason


def test_image_checks_leave_pillows_global_limit_alone() -> None:
    from assetgrade.ingest.images import validate_image

    before = Image.MAX_IMAGE_PIXELS
    buf = io.BytesIO()
    Image.new("L", (300, 300)).save(buf, "PNG")
    with pytest.raises(IngestError, match="90,000 pixels is over the limit of 1,000"):
        validate_image(buf.getvalue(), where="x.png", max_pixels=1_000)
    assert validate_image(buf.getvalue(), where="x.png", max_pixels=10**6).width == 300
    assert before == Image.MAX_IMAGE_PIXELS
