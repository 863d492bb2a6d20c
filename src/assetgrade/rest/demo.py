"""A small demo workspace for trying the review UI, documentation screenshots, tests and load runs.

Everything it writes is marked: predictions carry ``model_version="demo"`` and images are
synthetic drawings with provenance origin ``synthetic`` (generator ``assetgrade.rest.demo``),
so the audit checks never mistake them for real evidence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from assetgrade.modalities.base import Finding
from assetgrade.result import ContradictionInfo, GradeResult, ModalityEvidence
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

__all__ = ["DemoAsset", "demo_image_png", "seed_demo"]

GRADES = ("A", "B", "C", "D")
LOGS = (
    "Replaced hydraulic hose after a leak at the main cylinder; corrosion on the bucket pins.",
    "Routine service. No leak found at the pump seal; bearing noise reported by operator.",
    "Crack found near the weld on the boom, monitored. Oil contamination in the reservoir.",
)
SPANS = {  # (start word, defect) pairs located in LOGS by text search
    0: (("leak", "leak"), ("corrosion", "corrosion")),
    1: (("leak", "leak"),),
    2: (("Crack", "crack"), ("contamination", "contamination")),
}


@dataclass(frozen=True)
class DemoAsset:
    """What :func:`seed_demo` made for one asset."""

    asset_id: str
    image_evidence_id: str
    prediction_id: str
    decision: str


def demo_image_png(rng: np.random.Generator, size: tuple[int, int] = (320, 240), *, box: tuple[int, int, int, int]
                   ) -> bytes:
    """A synthetic grey metal-like plate with a rust-coloured blob inside ``box`` (PNG bytes)."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    base = (rng.normal(150, 18, size=(h, w)) + np.linspace(-20, 20, w)[None, :]).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(np.stack([base, base, base + 4], axis=-1).clip(0, 255).astype(np.uint8), "RGB")
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    draw = ImageDraw.Draw(img)
    draw.ellipse(box, fill=(139, 69, 19))
    x0, y0, x1, y1 = box
    draw.ellipse((x0 + 6, y0 + 5, x1 - 8, y1 - 6), fill=(170, 90, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _heat_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """A blob around ``box`` drawn as a grader's heat map is (``grading.report.heatmap_png``: same palette)."""
    from assetgrade.grading.report import heatmap_png

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    heat = np.exp(-(((xx - cx) / 40.0) ** 2 + ((yy - cy) / 30.0) ** 2))
    return heatmap_png(heat.astype(np.float32))


def _series_parquet(rng: np.random.Generator, n: int = 400) -> tuple[bytes, tuple[float, float]]:
    import pandas as pd

    t = np.arange(n, dtype=np.float64)
    temp = 60 + rng.normal(0, 0.6, n)
    vib = 1.0 + rng.normal(0, 0.05, n)
    a = int(rng.integers(150, 300))
    temp[a : a + 40] += np.linspace(0, 9, 40)
    vib[a : a + 40] += 0.4
    df = pd.DataFrame({"temperature_c": temp, "vibration_g": vib}, index=pd.Index(t, name="t_s"))
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue(), (float(a), float(a + 40))


def seed_demo(ws: Workspace, n_assets: int = 12, *, seed: int = 0, review_share: float = 0.75,
              actor: str = "demo") -> list[DemoAsset]:
    """Add ``n_assets`` demo assets, each with an image, a heat map, two log entries, a sensor series and a prediction.

    About ``review_share`` of the predictions say ``review`` (with reasons, a wide conformal
    set and sometimes a contradiction); the rest say ``accept``.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/demo")
    >>> made = seed_demo(ws, n_assets=2, seed=1)
    >>> [a.asset_id for a in made]
    ['demo-001', 'demo-002']
    """
    rng = np.random.default_rng(seed)
    out: list[DemoAsset] = []
    size = (320, 240)
    for i in range(1, n_assets + 1):
        aid = f"demo-{i:03d}"
        x0, y0 = int(rng.integers(30, 200)), int(rng.integers(30, 140))
        box = (x0, y0, x0 + int(rng.integers(40, 90)), y0 + int(rng.integers(30, 70)))
        img = demo_image_png(rng, size, box=box)
        img_sha = ws.blobs.put_bytes(img)
        heat_sha = ws.blobs.put_bytes(_heat_png(size, box))
        series, window = _series_parquet(rng)
        series_sha = ws.blobs.put_bytes(series)
        probs = rng.dirichlet(np.array([2.0, 3.0, 2.0, 1.0]))
        grade = GRADES[int(np.argmax(probs))]
        review = bool(rng.random() < review_share)
        order = np.argsort(-probs)
        cset = tuple(GRADES[j] for j in sorted(order[: (2 if review else 1)]))
        cost = float(np.round(rng.uniform(20, 400) if review else rng.uniform(0, 60), 1))
        with ws.session() as s:
            add_asset(s, aid, asset_type="excavator" if i % 2 else "pump", make="Demo", model=f"M{i % 3}",
                      value=float(rng.integers(5, 80)) * 1000, actor=actor)
            prov = ProvenanceInfo(source="assetgrade.rest.demo", origin="synthetic", generator="assetgrade.rest.demo",
                                  generator_params={"seed": seed})
            img_id = f"{aid}/image/1"
            add_evidence(s, asset_id=aid, kind="image", sha256=img_sha, blob_sha=img_sha, media_type="image/png",
                         attributes={"width": size[0], "height": size[1]}, evidence_id=img_id, provenance=prov,
                         actor=actor)
            findings_text: list[Finding] = []
            for k, li in enumerate(((i - 1) % 3, i % 3)):
                text = LOGS[li]
                lid = f"{aid}/log/{k + 1}"
                add_evidence(s, asset_id=aid, kind="log", sha256=f"{li:064d}", text=text, evidence_id=lid,
                             attributes={"date": f"2026-0{k + 1}-1{i % 9}"}, provenance=prov, actor=actor)
                for word, defect in SPANS[li]:
                    a = text.index(word)
                    negated = li == 1 and word == "leak"
                    findings_text.append(Finding(modality="text", summary=f"{defect} in log", defect=defect,
                                                 span=(a, a + len(word)), evidence_id=lid,
                                                 status="negated" if negated else "confirmed", confidence=0.8))
            sid = f"{aid}/series/1"
            add_evidence(s, asset_id=aid, kind="series", sha256=series_sha, blob_sha=series_sha,
                         media_type="application/vnd.apache.parquet", evidence_id=sid, provenance=prov, actor=actor)
            vision = ModalityEvidence("vision", True, {g: float(p) for g, p in zip(GRADES, probs, strict=True)}, (
                Finding(modality="vision", summary="corrosion patch", defect="corrosion", region=box,
                        evidence_id=img_id, confidence=0.7, grade_hint=grade),))
            textev = ModalityEvidence("text", True, None, tuple(findings_text))
            sensors = ModalityEvidence("sensors", True, None, (
                Finding(modality="sensors", summary="temperature rise", defect="overheating",
                        window=window, evidence_id=sid, channels=("temperature_c",), confidence=0.6),))
            contradictions: tuple[ContradictionInfo, ...] = ()
            reasons: list[str] = []
            if review:
                reasons.append(f"expected cost {cost:.1f} exceeds the review cost 15.0")
                if len(cset) > 1:
                    reasons.append(f"conformal set has {len(cset)} grades")
                if i % 3 == 0:
                    contradictions = (ContradictionInfo(("vision", "text"), ("A", "D"), 3,
                                                        "the image looks like new but the log reports a crack"),)
                    reasons.append("modalities contradict each other")
            result = GradeResult(asset_id=aid, probabilities={g: float(p) for g, p in zip(GRADES, probs, strict=True)},
                                 grade=grade, conformal_set=cset, coverage=0.9, expected_cost=cost,
                                 decision="review" if review else "accept", reasons=tuple(reasons),
                                 evidence=(vision, textev, sensors), contradictions=contradictions,
                                 versions={"model": "demo"}, asset_type="excavator" if i % 2 else "pump")
            payload = result.to_dict()
            payload["overlays"] = {img_id: heat_sha}
            pred = add_prediction(s, aid, model_version="demo", grade=grade, distribution=result.probabilities,
                                  conformal_set=cset, decision=result.decision, expected_cost=cost, payload=payload,
                                  actor=actor)
        out.append(DemoAsset(aid, img_id, pred.id, result.decision))
    return out
