"""``assets withdraw``: a wrongly ingested item is withdrawn and shown marked; ingested again, nothing is stored."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError, NotFoundError, ValidationError

runner = CliRunner()


def _jpeg(c: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (16, 16), c).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace where pump-1 has a photo (with a corrosion box) and a log entry, graded B."""
    folder = tmp_path / "ws"
    assert runner.invoke(build_app(), ["init", str(folder)]).exit_code == 0
    (tmp_path / "a.jpg").write_bytes(_jpeg(10))
    (tmp_path / "m.csv").write_text("asset_id,kind,path,text,grade,defect,box\n"
                                    'pump-1,image,a.jpg,,B,corrosion,"1,1,4,4"\n'
                                    "pump-1,log,,seal leaking,,,\n")
    r = runner.invoke(build_app(), ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(folder)])
    assert r.exit_code == 0, r.output
    return folder


def _show(ws: Path) -> dict[str, dict[str, object]]:
    r = runner.invoke(build_app(), ["assets", "show", "pump-1", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    return {str(e["kind"]): e for e in json.loads(r.output)["evidence"]}


def test_withdraw_marks_the_item_in_show_and_takes_it_out_of_list_and_stats(ws: Path) -> None:
    image = str(_show(ws)["image"]["id"])
    r = runner.invoke(build_app(), ["assets", "withdraw", image, "--reason", "pump-2's photo", "--by", "ana",
                                    "-w", str(ws)], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert f"withdrawn {image}" in r.output and "asset versions now pump-1 " in r.output
    shown = _show(ws)
    assert shown["log"]["withdrawn"] is None
    mark = shown["image"]["withdrawn"]
    assert isinstance(mark, dict) and (mark["evidence_id"], mark["reason"], mark["by"]) == (image, "pump-2's photo",
                                                                                            "ana")
    text = runner.invoke(build_app(), ["assets", "show", "pump-1", "-w", str(ws)], env={"COLUMNS": "300"}).output
    assert f"WITHDRAWN on {str(mark['at'])[:10]} by ana: pump-2's photo" in text
    r = runner.invoke(build_app(), ["assets", "list", "-w", str(ws), "--json"])
    assert [(a["images"], a["logs"], a["grade"]) for a in json.loads(r.output)] == [(0, 1, "B")]
    st = json.loads(runner.invoke(build_app(), ["stats", "-w", str(ws), "--json"]).output)
    assert st["totals"]["withdrawn"] == 1 and st["modality"] == {"log": 1} and st["defect"] == {}
    r = runner.invoke(build_app(), ["audit", "verify", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(build_app(), ["audit", "events", "-w", str(ws), "--action", "evidence.withdraw", "--json"])
    assert r.exit_code == 0, r.output
    assert image in r.output and "pump-2's photo" in r.output


def test_a_second_withdraw_says_unchanged_and_the_json_lists_it(ws: Path) -> None:
    image = str(_show(ws)["image"]["id"])
    args = ["assets", "withdraw", image, "--reason", "wrong asset", "--by", "ana", "-w", str(ws)]
    assert runner.invoke(build_app(), args).exit_code == 0
    r = runner.invoke(build_app(), [*args[:4], "another reason", "--by", "bo", "-w", str(ws)],
                      env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert f"unchanged {image}: already withdrawn on " in r.output and "by ana: wrong asset" in r.output
    r = runner.invoke(build_app(), [*args, "--json"])
    doc = json.loads(r.output)
    assert doc["withdrawn"] == [] and [w["reason"] for w in doc["already"]] == ["wrong asset"]


def test_an_unknown_id_exits_as_not_found_and_withdraws_none(ws: Path) -> None:
    image = str(_show(ws)["image"]["id"])
    r = runner.invoke(build_app(), ["assets", "withdraw", image, "ev_nope", "--reason", "x", "-w", str(ws)])
    assert isinstance(r.exception, NotFoundError) and exit_code_for(r.exception) == 3
    assert "evidence not found: 'ev_nope'; nothing was withdrawn" in str(r.exception)
    assert _show(ws)["image"]["withdrawn"] is None


def test_the_reason_is_required_and_checked(ws: Path) -> None:
    image = str(_show(ws)["image"]["id"])
    r = runner.invoke(build_app(), ["assets", "withdraw", image, "-w", str(ws)])
    assert r.exit_code == 2 and "--reason" in r.output
    r = runner.invoke(build_app(), ["assets", "withdraw", image, "--reason", " ", "-w", str(ws)])
    assert isinstance(r.exception, ValidationError) and "reason: the reason must not be empty" in str(r.exception)
    assert exit_code_for(r.exception) == 2
    r = runner.invoke(build_app(), ["assets", "withdraw", image, "--reason", "a\rb", "-w", str(ws)])
    assert isinstance(r.exception, AssetgradeError) and "control character U+000D at position 1" in str(r.exception)
    assert _show(ws)["image"]["withdrawn"] is None


def test_ingesting_the_withdrawn_file_again_is_said_and_stores_nothing(ws: Path, tmp_path: Path) -> None:
    image = str(_show(ws)["image"]["id"])
    assert runner.invoke(build_app(), ["assets", "withdraw", image, "--reason", "pump-2's photo", "--by", "ana",
                                       "-w", str(ws)]).exit_code == 0
    r = runner.invoke(build_app(), ["ingest", "manifest", str(tmp_path / "m.csv"), "-w", str(ws)],
                      env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    assert "the same content was withdrawn on " in r.output
    rep = json.loads(Path(r.output.split("report: ")[-1].strip()).read_text(encoding="utf-8"))
    assert rep["added"] == {"assets": 0, "evidence": 0, "labels": 0} and rep["skipped_existing"] == 2
    said = [n for n in rep["notices"] if image in n]
    assert len(said) == 1 and "the same content was withdrawn on " in said[0]
    assert said[0].endswith("by ana: pump-2's photo; stored nothing (its labels neither)")
    assert (_show(ws)["image"]["withdrawn"] or {})["reason"] == "pump-2's photo"  # type: ignore[index]
    r = runner.invoke(build_app(), ["assets", "list", "-w", str(ws), "--json"])
    assert [(a["images"], a["logs"]) for a in json.loads(r.output)] == [(0, 1)]
