"""Heat maps read the same to every eye: a lightness-ordered palette, cold parts clear, a colour scale beside them,
boxes outlined on the pixels they hold; and the drift, audit and fusion-table figures say what they show."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetgrade.audit.base import AuditReport, CheckResult
from assetgrade.audit.report import report_html
from assetgrade.errors import ValidationError
from assetgrade.grading.report import _overlay_b64, heatmap_png, render_report
from assetgrade.modalities.vision.heatmaps import overlay_png
from assetgrade.result import GradeResult
from assetgrade.store.records import AssetRecord, ImageRef

ROOT = Path(__file__).resolve().parents[2]


def _lightness(rgb: Any) -> np.ndarray:
    """CIE L* (0 black .. 100 white) of sRGB colours given as 0..255 (last axis RGB or RGBA)."""
    c = np.asarray(rgb, dtype=np.float64)[..., :3] / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = lin @ np.array([0.2126, 0.7152, 0.0722])
    return np.asarray(np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27))


def _luminance(rgb: Any) -> np.ndarray:
    """WCAG relative luminance of sRGB colours in [0, 1]."""
    c = np.asarray(rgb, dtype=np.float64)[..., :3]
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.asarray(lin @ np.array([0.2126, 0.7152, 0.0722]))


def _ramp(width: int = 64, height: int = 4) -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


def _rising(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))


def _decode(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))


# 1. boxes: the pixel-edge frame (x0, y0, x1, y1) holds columns x0 .. x1 - 1; PIL's rectangle includes its end


def test_overlay_png_outlines_the_pixels_the_box_holds(tmp_path: Path) -> None:
    path = overlay_png(Image.new("RGB", (20, 20)), np.zeros((20, 20), np.float32), tmp_path / "o.png",
                       box=(3, 2, 7, 5))
    white = np.all(np.asarray(Image.open(path).convert("RGB")) == 255, axis=-1)
    cols = np.flatnonzero(white.any(axis=0))
    rows = np.flatnonzero(white.any(axis=1))
    assert cols.tolist() == [3, 4, 5, 6] and rows.tolist() == [2, 3, 4]  # was columns 3..7 and rows 2..5


def test_the_report_and_the_bench_overlay_outline_a_box_alike(tmp_path: Path) -> None:
    img = Image.new("RGB", (20, 20))
    heat = np.zeros((20, 20), np.float32)
    bench = np.asarray(Image.open(overlay_png(img, heat, tmp_path / "o.png", box=(3, 2, 7, 5))).convert("RGB"))
    report = _decode(_overlay_b64(img, heat, [(3, 2, 7, 5)]))[..., :3]
    assert np.array_equal(bench, report)


# 2. palette: lightness rises with the map (jet goes dark-light-dark), cold parts leave the photo as it is


def test_the_ui_heat_map_png_rises_in_lightness_and_is_clear_where_cold() -> None:
    rgba = np.asarray(Image.open(io.BytesIO(heatmap_png(_ramp())))).astype(np.float64)
    assert rgba.shape == (4, 64, 4)  # RGBA: the alpha channel carries how hot
    row = rgba[0]
    assert _rising(_lightness(row)), np.round(_lightness(row)).tolist()
    assert row[0, 3] == 0 and row[-1, 3] == 255 and np.all(np.diff(row[:, 3]) >= 0)


@pytest.mark.parametrize("draw", ["bench", "report"])
def test_an_overlay_rises_in_lightness_over_a_dark_photo_and_keeps_the_photo_where_cold(
        draw: str, tmp_path: Path) -> None:
    heat = _ramp()

    def shown(img: Image.Image) -> np.ndarray:
        if draw == "bench":
            return np.asarray(Image.open(overlay_png(img, heat, tmp_path / "o.png")).convert("RGB"))
        return _decode(_overlay_b64(img, heat, []))[..., :3]

    lightness = _lightness(shown(Image.new("RGB", (64, 4)))[0])
    # never darker as the map gets hotter (8-bit steps tie near black), and clearly lighter at the top
    assert np.all(np.diff(lightness) >= 0) and lightness[-1] - lightness[0] > 40, np.round(lightness).tolist()
    photo = np.random.default_rng(0).integers(0, 256, (4, 64, 3), dtype=np.uint8)
    out = shown(Image.fromarray(photo))
    assert np.array_equal(out[:, 0], photo[:, 0])  # the coldest column is the photo, not darkened by the map
    # the hottest column is the map's top colour laid over at most 45 %: the photo still shows through
    assert np.all(np.abs(out[:, -1].astype(int) - photo[:, -1]) <= np.ceil(0.45 * 255))


def _result() -> GradeResult:
    return GradeResult(asset_id="pump-7", probabilities={"A": 0.1, "B": 0.2, "C": 0.6, "D": 0.1}, grade="C",
                       conformal_set=("B", "C"), coverage=0.9, expected_cost=12.0, decision="review",
                       reasons=("r",), expected_costs={"A": 9.0, "B": 4.0, "C": 12.0, "D": 20.0})


def _record() -> AssetRecord:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 120, 120)).save(buf, format="PNG")
    data = buf.getvalue()
    return AssetRecord("pump-7", images=(ImageRef("img-1", "0" * 64, lambda: data),))


def test_the_report_shows_a_colour_scale_beside_a_heat_map(monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.grading.report as report

    without = render_report(_result(), _record())  # no vision model: no heat map, so no scale either
    assert "heat-map colour scale" not in without
    monkeypatch.setattr(report, "image_heatmap",
                        lambda extractor, ref: (Image.open(io.BytesIO(ref.load_bytes())), _ramp(40, 30), "anomaly map"))
    html = render_report(_result(), _record())
    m = re.search(r'<img alt="heat-map colour scale[^"]*" src="data:image/png;base64,([^"]+)"', html)
    assert m is not None
    legend = html[m.start() - 300: m.end() + 300]
    assert "low" in legend and "high" in legend
    bar = _decode(m.group(1))[..., :3].astype(np.float64)
    assert bar.shape[1] > bar.shape[0]  # a horizontal bar, low on the left
    assert _rising(_lightness(bar[bar.shape[0] // 2]))
    # the scale is the overlay's palette: its right end is the colour of the hottest pixel drawn at full strength
    top = np.asarray(Image.open(io.BytesIO(heatmap_png(_ramp()))))[0, -1, :3]
    assert np.abs(bar[0, -1] - top).max() <= 1


def _css_stops() -> np.ndarray:
    css = (ROOT / "src/assetgrade/web/static/app.css").read_text(encoding="utf-8")
    m = re.search(r"\.heatscale\s*\{[^}]*linear-gradient\(to right,([^)]*)\)", css)
    assert m is not None, "app.css has no .heatscale gradient"
    return np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in re.findall(r"#[0-9a-fA-F]{6}", m.group(1))])


def test_the_review_ui_scale_is_the_overlays_palette_and_is_shown_with_the_heat_maps() -> None:
    stops = _css_stops()
    assert len(stops) >= 5 and _rising(_lightness(stops))
    png = np.asarray(Image.open(io.BytesIO(heatmap_png(np.linspace(0, 1, len(stops), dtype=np.float32)[None]))))
    assert np.abs(stops - png[0, :, :3].astype(int)).max() <= 1
    template = (ROOT / "src/assetgrade/web/templates/asset.html").read_text(encoding="utf-8")
    assert re.search(r'class="heatscale"[^>]*role="img"[^>]*aria-label="[^"]+"', template)


def test_the_rest_demo_draws_its_heat_maps_in_the_same_palette() -> None:
    from matplotlib import colormaps

    from assetgrade.rest.demo import _heat_png

    rgba = np.asarray(Image.open(io.BytesIO(_heat_png((80, 60), (30, 20, 50, 40))))).astype(np.float64)
    # each pixel is the palette's colour for its opacity (heatmap_png: opacity = scaled value), up to 8-bit steps;
    # the demo drew its own orange-to-red at opacity 200 x value, which the UI's colour scale did not describe
    expected = colormaps["inferno"](rgba[..., 3] / 255.0)[..., :3] * 255
    assert np.abs(rgba[..., :3] - expected).max() <= 8
    assert rgba[..., 3].max() == 255


def test_an_overlay_cached_in_the_old_palette_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import assetgrade.grading.report as report
    from assetgrade.grading.recording import heatmap_overlays

    blobs: dict[str, bytes] = {"jet-blob": b"old opaque jet png"}
    refs: dict[str, str] = {"v1/overlay/" + "0" * 64: "jet-blob"}  # the key an overlay was cached under before

    def put_bytes(data: bytes) -> str:
        blobs[f"sha-{len(blobs)}"] = data
        return f"sha-{len(blobs) - 1}"

    ws = SimpleNamespace(blobs=SimpleNamespace(exists=lambda sha: sha in blobs, put_bytes=put_bytes))
    cache = SimpleNamespace(get_ref=refs.get, put_ref=refs.__setitem__, flush=lambda: None)
    grader = SimpleNamespace(extractors_={"vision": object()}, version_="v1", cache=cache)
    monkeypatch.setattr(report, "image_heatmap",
                        lambda extractor, ref: (None, _ramp(8, 4), "anomaly map"))
    out = heatmap_overlays(ws, grader, [_record()])  # type: ignore[arg-type]
    sha = out["pump-7"]["img-1"]
    assert sha != "jet-blob" and blobs[sha] == heatmap_png(_ramp(8, 4))
    assert heatmap_overlays(ws, grader, [_record()]) == out  # type: ignore[arg-type]  # then cached


# 3. the drift chart's threshold says the quantile the policy used


def test_the_drift_chart_names_the_policys_quantile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from assetgrade.bench.drift import plot_mmd

    kept: list[Any] = []
    real = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (kept.append(fig), real(fig)))
    plot_mmd([0.01], [[0.05]], 0.04, tmp_path / "a.png", quantile=0.95)
    plot_mmd([0.01], [[0.05]], 0.04, tmp_path / "b.png")
    labels = [[str(ln.get_label()) for ln in f.axes[0].lines if str(ln.get_label()).startswith("threshold")]
              for f in kept]
    assert labels[0] == ["threshold (reference self-splits, q=0.95)"]
    assert labels[1] == ["threshold (reference self-splits)"]  # no quantile given: none claimed


def test_the_drift_bench_passes_the_monitors_quantile_to_the_chart() -> None:
    src = (ROOT / "src/assetgrade/bench/drift.py").read_text(encoding="utf-8")
    assert "q=0.99" not in src and "quantile=mon.policy.mmd_quantile" in src


# 4. an audit report without item ids names a flagged row by its number


def test_a_report_without_item_ids_names_flagged_rows_by_number() -> None:
    res = CheckResult("duplicates", np.array([0.1, 1.0, 0.2]), np.array([True, False, True]), 0.5, False, "two")
    rep = AuditReport({"duplicates": res}, n_items=3)  # item_ids defaulted to [] and row 0 raised IndexError
    flagged = rep.to_dict()["checks"]["duplicates"]["flagged"]
    assert flagged == [{"row": 0, "item_id": None, "score": 0.1}, {"row": 2, "item_id": None, "score": 0.2}]
    html = report_html(rep)
    assert "<td>row 0</td>" in html and "<td>row 2</td>" in html
    assert res.to_dict([])["flagged"][0]["item_id"] is None


def test_item_ids_that_do_not_match_the_rows_are_refused() -> None:
    res = CheckResult("duplicates", np.array([0.1, 1.0, 0.2]), np.array([True, False, True]), 0.5, False, "two")
    with pytest.raises(ValidationError, match="2 item ids for 3 items"):
        AuditReport({"duplicates": res}, n_items=3, item_ids=["a", "b"])
    assert AuditReport({"duplicates": res}, n_items=3, item_ids=["a", "b", "c"]).to_dict()[
        "checks"]["duplicates"]["flagged"][1]["item_id"] == "c"


# 5. the fusion table's rare-cell hatching stands out from dark cells as well as light ones


def test_rare_cell_hatching_contrasts_with_its_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from assetgrade.fusion.latent import LatentLevelTable, plot_latent_table

    kept: list[Any] = []
    real = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (kept.append(fig), real(fig)))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    qs = [np.eye(4)[np.clip(y + rng.integers(-1, 2, 400), 0, 3)] * 0.9 + 0.025 for _ in range(2)]
    t = LatentLevelTable().fit(qs, y, n_classes=4)
    plot_latent_table(t, ["vision", "text"], "ABCD", tmp_path / "t.png", rare=1.1)  # every cell hatched
    ax = kept[0].axes[0]
    image = ax.images[0]
    cells = np.asarray(image.get_array())
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == cells.size
    backs = []
    for p in hatched:
        x, yy = p.get_x() + 0.5, p.get_y() + 0.5
        back = float(_luminance(image.cmap(image.norm(cells[round(yy), round(x)]))))
        colour = p.get_hatchcolor() if hasattr(p, "get_hatchcolor") else p.get_edgecolor()
        fore = float(_luminance(to_rgb(colour)))
        hi, lo = max(back, fore), min(back, fore)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, (x, yy, colour)
        backs.append(back)
    assert min(backs) < 0.1 < 0.5 < max(backs)  # dark and light cells both in the test
