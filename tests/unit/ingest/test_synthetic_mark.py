"""A generated image that comes back in through an import keeps its synthetic origin (the file's own mark)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from assetgrade.ingest import Ingestor, manifest_items
from assetgrade.store import load_records
from assetgrade.synth import generate
from assetgrade.workspace import Workspace


def _photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), "RGB")


def test_a_marked_image_imported_as_real_is_stored_as_what_its_mark_says(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_bytes(generate("crack", _photo(0), seed=4, parent_id="p-1").to_png_bytes())
    (tmp_path / "lit.png").write_bytes(generate("lighting", _photo(1), seed=5, parent_id="p-2").to_png_bytes())
    _photo(2).save(tmp_path / "real.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("asset_id,kind,path,origin\nf,image,fake.png,\nl,image,lit.png,augmented\n"
                        "r,image,real.png,\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest))
    assert not rep.errors and rep.added["evidence"] == 3
    origins = {r.asset_id: r.images[0].origin for r in load_records(ws)}
    # no origin column value: the default 'real' would have counted a generated crack as a real photo
    assert origins == {"f": "synthetic", "l": "augmented", "r": "real"}
    (notice,) = [str(n) for n in rep.notices if "synthetic mark" in str(n)]
    assert "generator crack" in notice and "row 2" in notice


def test_the_mark_fills_in_generator_and_parameters(ws: Workspace, tmp_path: Path) -> None:
    from sqlalchemy import select

    from assetgrade.store.schema import Provenance

    (tmp_path / "fake.png").write_bytes(generate("scratch", _photo(3), seed=9, parent_id="p-9").to_png_bytes())
    manifest = tmp_path / "m.csv"
    manifest.write_text("asset_id,kind,path\nf,image,fake.png\n", encoding="utf-8")
    Ingestor(ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest))
    with ws.session(readonly=True) as s:
        pv = s.execute(select(Provenance)).scalar_one()
    assert pv.origin == "synthetic" and pv.generator == "scratch"
    assert pv.generator_params is not None and pv.generator_params["seed"] == 9
    assert pv.generator_params["parent_id"] == "p-9" and pv.notes and "mark" in pv.notes[-1]


def _text_after_image_data(png: bytes) -> bytes:
    """The same PNG with its text chunks moved after the image data (as some tools rewrite files; valid PNG)."""
    pos, chunks = 8, []
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        chunks.append(png[pos:pos + 12 + length])
        pos += 12 + length
    text = [c for c in chunks if c[4:8] in (b"tEXt", b"zTXt", b"iTXt")]
    rest = [c for c in chunks if c not in text]
    return png[:8] + b"".join(rest[:-1]) + b"".join(text) + rest[-1]  # ... IDAT, text, IEND


def test_a_mark_after_the_image_data_is_read_too(ws: Workspace, tmp_path: Path) -> None:
    import io

    from assetgrade.ingest.images import _png_head
    from assetgrade.synth import read_mark

    moved = _text_after_image_data(generate("pitting", _photo(4), seed=2, parent_id="p-4").to_png_bytes())
    assert moved.index(b"tEXt") > moved.index(b"IDAT")
    assert Image.open(io.BytesIO(moved)).size == (64, 48)  # still a PNG Pillow reads
    assert read_mark(moved)["generator"] == "pitting"
    # a large file is read chunk by chunk, image data skipped: the mark after it is kept
    assert read_mark(_png_head(io.BytesIO(moved)))["generator"] == "pitting"
    (tmp_path / "moved.png").write_bytes(moved)
    manifest = tmp_path / "m.csv"
    manifest.write_text("asset_id,kind,path\nm,image,moved.png\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest))
    assert not rep.errors
    assert [r.images[0].origin for r in load_records(ws)] == ["synthetic"]
