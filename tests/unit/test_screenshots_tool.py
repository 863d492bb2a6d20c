"""tools/screenshots.py without a browser: its command line, which asset it shows, and how it encodes the PNG."""

from __future__ import annotations

import importlib.util
import io
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "screenshots.py"


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    if not TOOL.exists():
        pytest.skip("tools/screenshots.py is in source checkouts only")
    spec = importlib.util.spec_from_file_location("assetgrade_screenshots_tool", TOOL)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_defaults_are_the_docs_settings(tool: ModuleType) -> None:
    a = tool.parse_args(["docs/img/x.png"])
    assert a.out == Path("docs/img/x.png")
    assert a.workspace == Path("demo-workspace")
    assert (a.width, a.height, a.scale, a.full_page, a.max_kib) == (1400, 900, 1.0, True, 300)
    assert (a.asset, a.token, a.user, a.role) == (None, None, "alice", "reviewer")
    assert a.chromium == Path("/usr/bin/chromium")


def test_options_are_read(tool: ModuleType) -> None:
    a = tool.parse_args(["-w", "/tmp/ws", "--asset", "lnk-00146", "--width", "1280", "--height", "720",
                         "--scale", "2", "--no-full-page", "--max-kib", "0", "--role", "admin", "--user", "bob",
                         "out.PNG"])
    assert (a.workspace, a.asset, a.width, a.height) == (Path("/tmp/ws"), "lnk-00146", 1280, 720)
    assert (a.scale, a.full_page, a.max_kib, a.role, a.user) == (2.0, False, 0, "admin", "bob")


@pytest.mark.parametrize(("argv", "said"), [
    (["x.jpg"], "must end in .png"),
    (["--width", "100", "x.png"], "outside [320, 4000]"),
    (["--height", "wide", "x.png"], "not a whole number"),
    (["--scale", "nan", "x.png"], "outside [0.5, 4.0]"),
    (["--scale", "0", "x.png"], "outside [0.5, 4.0]"),
    (["--role", "station", "x.png"], "invalid choice"),
    (["--asset", " ", "x.png"], "--asset"),
    (["--user", "", "x.png"], "--user"),
    ([], "required"),
])
def test_bad_values_exit_2_naming_the_problem(tool: ModuleType, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], said: str) -> None:
    with pytest.raises(SystemExit) as exc:
        tool.parse_args(argv)
    assert exc.value.code == 2
    assert said in capsys.readouterr().err


def test_first_queued_asset_with_images_is_chosen(tool: ModuleType) -> None:
    q = tool.QueueEntry
    queue = [q("lnk-00003", 0), q("lnk-00001", 2), q("lnk-00002", 1)]  # queue order, not id order
    assert tool.choose_asset(queue) == "lnk-00001"
    assert tool.choose_asset(queue, "lnk-00002") == "lnk-00002"  # --asset wins
    assert tool.choose_asset([], "lnk-00009") == "lnk-00009"


def test_no_asset_to_show_is_an_error_saying_what_to_do(tool: ModuleType) -> None:
    with pytest.raises(LookupError, match="queue is empty"):
        tool.choose_asset([])
    with pytest.raises(LookupError, match=r"none of the 2 queued assets has an image: name one with --asset"):
        tool.choose_asset([tool.QueueEntry("a", 0), tool.QueueEntry("b", 0)])


def test_png_stays_full_colour_when_it_fits_and_is_quantised_when_not(tool: ModuleType) -> None:
    from PIL import Image

    # seeded noise: about 48 KiB in full colour, 16 KiB in 256 colours
    img = Image.frombytes("RGB", (256, 64), random.Random(0).randbytes(256 * 64 * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    full, how = tool.encode_png(buf.getvalue(), max_kib=0)
    assert how == "full colour"
    with Image.open(io.BytesIO(full)) as back:
        assert back.mode == "RGB" and back.size == (256, 64)
        assert back.tobytes() == img.tobytes()  # lossless
    dithered, how = tool.encode_png(buf.getvalue(), max_kib=40)  # full colour does not fit 40 KiB
    assert how == "256 colours, dithered" and len(dithered) <= 40 * 1024
    small, how = tool.encode_png(buf.getvalue(), max_kib=1)  # nothing fits 1 KiB: the plain palette is kept
    assert how == "256 colours"
    with Image.open(io.BytesIO(small)) as back:
        assert back.mode == "P" and back.size == (256, 64)
    assert len(small) < len(full)
