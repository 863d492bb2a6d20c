"""Text inputs in UTF-16 without a byte-order mark are named as such, with the option that reads them, instead
of a header of spaced-out letters that 'lacks' the columns it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.errors import IngestError
from assetgrade.ingest import (
    Ingestor,
    SeriesOptions,
    WorkOrderColumns,
    manifest_items,
    series_items,
    work_order_items,
)
from assetgrade.workspace import Workspace


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_manifest_in_utf16_without_a_bom_is_named_with_the_option(ws: Workspace, tmp_path: Path,
                                                                    codec: str) -> None:
    m = tmp_path / "m.csv"
    m.write_bytes("asset_id,kind,text\nu-1,log,bearing noisy\n".encode(codec))
    with pytest.raises(IngestError, match=f"UTF-16.*--encoding {codec}") as info:
        list(manifest_items(m))
    assert str(m) in str(info.value)
    rep = Ingestor(ws, kind="manifest", source="m").run(manifest_items(m, encoding=codec))
    assert rep.ok and rep.added["evidence"] == 1


def test_work_orders_and_series_in_utf16_without_a_bom_are_named(ws: Workspace, tmp_path: Path) -> None:
    w = tmp_path / "wo.csv"
    w.write_bytes("Asset,OriginalShorttext,BscStartDate,Cost\nE1,replace filter,2020-01-01,10\n".encode("utf-16-le"))
    with pytest.raises(IngestError, match="--encoding utf-16-le"):
        list(work_order_items(w, WorkOrderColumns()))
    s = tmp_path / "pump.csv"
    s.write_bytes("time,temp\n0,1\n1,2\n".encode("utf-16-le"))
    good = tmp_path / "fan.csv"
    good.write_text("time,temp\n0,1\n1,2\n")
    rep = Ingestor(ws, kind="series", source="s").run(series_items([s, good], SeriesOptions()))
    [err] = rep.errors
    assert err.file == str(s) and "--encoding utf-16-le" in err.reason
    assert rep.added["evidence"] == 1  # the other file still goes in


def test_text_with_a_few_nul_bytes_is_not_taken_for_utf16(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_bytes(b"asset_id,kind,text\nn-1,log,ok\nn-2,log,a\x00b\n")  # one stray NUL: reported on its row
    items = list(manifest_items(m))
    assert len(items) == 2
