"""Take the asset-page screenshots in docs/img/ the same way every time, from a graded workspace.

``python tools/screenshots.py docs/img/asset-page-demo.png`` serves a copy of ``demo-workspace/``
(what ``make demo`` builds) with ``assetgrade serve`` on a free loopback port, makes a reviewer
token in the copy (``--token`` uses one of the workspace's own instead), logs in through the login
form in Debian's chromium (driven by Playwright, as the browser tests do, so the login carries the
browser's Origin), opens the asset page of the first queued asset that has images (``--asset`` names
another), waits until every image and heat-map overlay has loaded and saves the whole page, 1400
CSS pixels wide at device scale 1, as a PNG written with PIL's ``optimize=True``, in 256 colours where full
colour would pass ``--max-kib`` (300). The workspace itself is not written to: the
token, its audit events and the service log stay in the copy, which is deleted afterwards.

Needs the dev extra (Playwright) and ``/usr/bin/chromium``; the workspace must keep its own SQLite
store and blob folder (the default), since that is what gets copied.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

DEFAULT_WORKSPACE = Path("demo-workspace")
CHROMIUM = Path("/usr/bin/chromium")
# as in tests/integration/test_browser.py: no sandbox (containers), no GPU, nothing fetched from outside
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars", "--font-render-hinting=none"]
ROLES = ("reviewer", "admin")
SIZE_LIMITS = (320, 4000)  # viewport width and height, CSS pixels
SCALE_LIMITS = (0.5, 4.0)  # device scale factor
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class QueueEntry:
    """One asset of the review queue, in queue order, with how many images it has."""

    asset_id: str
    n_images: int


def _int_in(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is outside [{lo}, {hi}]")
        return v
    return parse


def _scale(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    lo, hi = SCALE_LIMITS
    if not lo <= v <= hi:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{v} is outside [{lo}, {hi}]")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--help`` lists it)."""
    p = argparse.ArgumentParser(prog="tools/screenshots.py", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("out", type=Path, help="PNG file to write, e.g. docs/img/asset-page-demo.png")
    p.add_argument("-w", "--workspace", type=Path, default=DEFAULT_WORKSPACE,
                   help="graded workspace to show (it is copied; the copy is served)")
    p.add_argument("--asset", default=None,
                   help="asset id to show (default: the first asset of the review queue that has images)")
    p.add_argument("--token", default=None,
                   help="an existing admin or reviewer token of the workspace (default: make one in the copy)")
    p.add_argument("--user", default="alice",
                   help="name of the token made in the copy (shown in the page header); ignored with --token")
    p.add_argument("--role", choices=ROLES, default="reviewer", help="role of the token made in the copy")
    p.add_argument("--width", type=_int_in(*SIZE_LIMITS), default=1400, help="viewport width, CSS pixels")
    p.add_argument("--height", type=_int_in(*SIZE_LIMITS), default=900, help="viewport height, CSS pixels")
    p.add_argument("--scale", type=_scale, default=1.0, help="device scale factor (PNG pixels per CSS pixel)")
    p.add_argument("--full-page", action=argparse.BooleanOptionalAction, default=True,
                   help="the whole page, not only the viewport")
    p.add_argument("--max-kib", type=_int_in(0, 100_000), default=300,
                   help="size budget: full colour when it fits, else 256 colours dithered, else 256 colours plain "
                        "(see encode_png); 0: always full colour")
    p.add_argument("--chromium", type=Path, default=CHROMIUM, help="chromium executable")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the command line; a bad value exits 2 naming the option."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.out.suffix.lower() != ".png":
        p.error(f"out: {str(args.out)!r} must end in .png")
    if args.asset is not None and not args.asset.strip():
        p.error("--asset: give an asset id, not an empty string")
    if not args.user.strip():
        p.error("--user: give a name, not an empty string")
    return args


def choose_asset(queue: Sequence[QueueEntry], asset: str | None = None) -> str:
    """The asset to show: ``asset`` when given, else the first entry of ``queue`` that has an image.

    >>> choose_asset([QueueEntry("a", 0), QueueEntry("b", 2), QueueEntry("c", 1)])
    'b'
    >>> choose_asset([QueueEntry("a", 0)], "z")
    'z'
    """
    if asset is not None:
        return asset
    for entry in queue:
        if entry.n_images > 0:
            return entry.asset_id
    if not queue:
        raise LookupError("the review queue is empty: grade the workspace first, or name an asset with --asset")
    raise LookupError(f"none of the {len(queue)} queued assets has an image: name one with --asset")


def read_queue(ws: Any) -> list[QueueEntry]:
    """The whole review queue of ``ws`` in the UI's order, with each asset's image count."""
    from sqlalchemy import func, select

    from assetgrade.rest.queries import review_queue
    from assetgrade.store.schema import Evidence

    ids: list[str] = []
    with ws.session(readonly=True) as s:
        while True:
            rows, total = review_queue(s, limit=500, offset=len(ids))
            ids += [r.asset_id for r in rows]
            if not rows or len(ids) >= total:
                break
        counts = dict(s.execute(select(Evidence.asset_id, func.count()).where(Evidence.kind == "image")
                                .group_by(Evidence.asset_id)).all())
    return [QueueEntry(a, int(counts.get(a, 0))) for a in ids]


def _asset_exists(ws: Any, asset_id: str) -> bool:
    from assetgrade.store.schema import Asset

    with ws.session(readonly=True) as s:
        return s.get(Asset, asset_id) is not None


def _copy(workspace: Path, dst: Path) -> None:
    from assetgrade.loadtest.grade_bench import copy_workspace
    from assetgrade.workspace import Workspace

    with Workspace.open(workspace) as ws:
        db = ws.engine.url.database
        if (ws.engine.url.get_backend_name() != "sqlite" or db is None
                or Path(db).resolve() != (workspace / "assetgrade.db").resolve() or ws.config.blob_root is not None):
            raise SystemExit(f"{workspace}: the tool copies the workspace and needs its own SQLite store and blob "
                             "folder (assetgrade.db, blobs/)")
    copy_workspace(workspace, dst)


def encode_png(png: bytes, max_kib: int = 300) -> tuple[bytes, str]:
    """``png`` re-encoded by PIL with ``optimize=True``, as faithful as fits in ``max_kib`` KiB; (bytes, how).

    Tried in order, the first that fits is kept (else the last): full colour; 256 colours from an
    octree palette with Floyd-Steinberg dithering (gradients such as the heat-map colour scale stay
    smooth); the same palette without dithering (flat areas compress best, gradients band). A
    1400-pixel page with a photo and heat map is about 780 KiB, 420 KiB and 200 KiB in the three.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        img = im.convert("RGB")

    def save(x: Image.Image) -> bytes:
        buf = io.BytesIO()
        x.save(buf, format="PNG", optimize=True)
        return buf.getvalue()

    out, how = save(img), "full colour"
    if not max_kib or len(out) <= max_kib * 1024:
        return out, how
    palette = img.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    for dither, name in ((Image.Dither.FLOYDSTEINBERG, "256 colours, dithered"), (Image.Dither.NONE, "256 colours")):
        out, how = save(img.quantize(palette=palette, dither=dither)), name
        if len(out) <= max_kib * 1024:
            break
    return out, how


_IMAGES_READY = """() => {
  const imgs = Array.from(document.querySelectorAll('img'));
  return imgs.every(i => i.complete) && document.fonts.status === 'loaded';
}"""
_BROKEN = "() => Array.from(document.querySelectorAll('img')).filter(i => !i.naturalWidth).map(i => i.src)"


def shoot(url: str, token: str, asset_id: str, args: argparse.Namespace) -> bytes:
    """Log in at ``url`` with ``token`` in chromium and return a PNG of the asset page of ``asset_id``."""
    from playwright.sync_api import sync_playwright

    target = f"/ui/assets/{quote(asset_id, safe='')}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(args.chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            ctx = browser.new_context(viewport={"width": args.width, "height": args.height},
                                      device_scale_factor=args.scale, locale="en-GB", timezone_id="UTC",
                                      color_scheme="light", reduced_motion="reduce")
            page = ctx.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            # the login form, as a person uses it: the browser sends Origin with the post
            page.goto(f"{url}/ui/login?next={quote(target, safe='')}")
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state("load")
            if not page.url.startswith(url + target):
                raise SystemExit(f"login did not reach {target}: the browser is at {page.url}")
            page.wait_for_load_state("networkidle")
            page.wait_for_function(_IMAGES_READY)
            broken = page.evaluate(_BROKEN)
            if broken:
                raise SystemExit(f"the asset page of {asset_id!r} has images that did not load: {broken[:3]}")
            page.mouse.move(0, 0)
            return bytes(page.screenshot(full_page=args.full_page, animations="disabled", caret="hide"))
        finally:
            browser.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.chromium.exists():
        raise SystemExit(f"no chromium at {args.chromium}: install Debian's chromium or pass --chromium PATH")
    if not (args.workspace / "assetgrade.db").exists():
        raise SystemExit(f"{args.workspace} holds no assetgrade.db: build it with `make demo` or pass -w WORKSPACE")

    from assetgrade.errors import ConflictError
    from assetgrade.loadtest.server import ServiceProcess
    from assetgrade.rest.auth import create_token
    from assetgrade.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="assetgrade-screenshots-") as tmp:
        copy = Path(tmp) / "ws"
        _copy(args.workspace, copy)
        with Workspace.open(copy) as ws:
            if args.asset is not None and not _asset_exists(ws, args.asset):
                raise SystemExit(f"--asset: {args.asset!r} is not an asset of {args.workspace}")
            try:
                asset_id = choose_asset([] if args.asset else read_queue(ws), args.asset)
            except LookupError as exc:
                raise SystemExit(f"{args.workspace}: {exc}") from None
            token = args.token
            if token is None:
                try:
                    with ws.session() as s:
                        token, _ = create_token(s, name=args.user.strip(), role=args.role, actor="screenshots")
                except ConflictError:
                    raise SystemExit(f"--user: {args.workspace} has a token named {args.user.strip()!r} already; "
                                     "pick another name, or pass that token with --token") from None
        with ServiceProcess(copy, threads=2) as svc:
            png = shoot(svc.url, token, asset_id, args)
    data, how = encode_png(png, args.max_kib)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    over = f" (over --max-kib {args.max_kib})" if args.max_kib and len(data) > args.max_kib * 1024 else ""
    print(f"{args.out}: asset {asset_id}, {how}, {len(data) / 1024:.0f} KiB{over}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
