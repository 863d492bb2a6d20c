"""Every ``ingest`` command checks the paths it reads with its arguments, as ``ingest manifest`` does: a missing
one, or one of the wrong kind, is bad input (exit 2) naming the argument or option, before the workspace is opened
and before any progress bar (``work-orders`` counted the rows of a missing file first; ``coco``, ``yolo --classes``,
``folder``, ``voc`` and ``series`` opened the workspace and started a batch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import ValidationError

BAR = "━"  # rich's bar glyph


def _cases(d: Path) -> list[tuple[list[str], str, Path, str]]:
    """(arguments, where, the path named, what it says) for a missing path of each command."""
    (d / "yolo").mkdir()
    (d / "ann.json").write_text("{}", encoding="utf-8")
    return [
        (["work-orders", str(d / "wo.csv")], "PATH", d / "wo.csv", "does not exist; give a work-order CSV to read"),
        (["coco", str(d / "nope.json")], "ANNOTATION_FILE", d / "nope.json", "does not exist"),
        (["coco", str(d / "ann.json"), "--images", str(d / "imgs")], "--images", d / "imgs", "does not exist"),
        (["yolo", str(d / "yolo"), "--classes", str(d / "classes.txt")], "--classes", d / "classes.txt",
         "does not exist"),
        (["yolo", str(d / "none"), "--classes", str(d / "ann.json")], "ROOT", d / "none", "does not exist"),
        (["folder", str(d / "imgs")], "ROOT", d / "imgs", "does not exist; give a folder of class folders to read"),
        (["voc", str(d / "voc")], "ROOT", d / "voc", "does not exist"),
        (["voc", str(d / "yolo"), "--annotations", str(d / "xml")], "--annotations", d / "xml", "does not exist"),
        # of the wrong kind
        (["work-orders", str(d / "yolo")], "PATH", d / "yolo", "is a folder, not a work-order CSV"),
        (["folder", str(d / "ann.json")], "ROOT", d / "ann.json", "is a file, not a folder of class folders"),
        # series: each of its FILES (a missing one was a rejected row after the workspace was opened, a folder
        # "not a regular file"; a workspace that was not one was exit 3 first)
        (["series", str(d / "s.csv")], "FILES", d / "s.csv", "does not exist; give a series file to read"),
        (["series", str(d / "ann.json"), str(d / "gone.parquet")], "FILES", d / "gone.parquet", "does not exist"),
        (["series", str(d / "ann.json"), str(d / "yolo")], "FILES", d / "yolo", "is a folder, not a series file"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_a_bad_path_is_refused_before_the_workspace_or_a_bar(tmp_path: Path, case: int) -> None:
    args, where, path, says = _cases(tmp_path)[case]
    # a workspace that is not one would be exit 3 once opened: the path is checked first
    res = CliRunner().invoke(build_app(), ["ingest", *args, "-w", str(tmp_path / "no-ws")])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2 and res.exception.where == where, res.exception.where
    assert str(path) in str(res.exception) and says in str(res.exception), str(res.exception)
    assert BAR not in res.output and "ingest " not in res.output, res.output
