"""Image-quality checks (blur, exposure, glare, resolution) that flag images and temper their findings.

Blur is the variance of the Laplacian (J. L. Pech-Pacheco et al., "Diatom autofocusing in
brightfield microscopy: a comparative study", ICPR 2000); exposure is the share of clipped
dark/bright pixels; glare is a large connected blob of saturated pixels in an otherwise normally
exposed image. A flagged image still counts, but its probabilities are pulled toward uniform:
p' = f · p + (1 − f) / K with f = the product of the flags' factors (``FLAG_FACTORS``, or
factors learned from held-out predictions by :func:`fit_flag_factors`); independent yes/no
probabilities (one per defect label) are each pulled toward 1/2 (:func:`temper_labels`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetgrade.errors import ValidationError

__all__ = [
    "FLAG_FACTORS", "MIN_FLAGGED", "QUALITY_FEATURES", "QualityReport", "QualitySettings", "assess_quality",
    "fit_flag_factors", "flag_factor", "temper", "temper_labels",
]

FLAG_FACTORS: dict[str, float] = {
    "blurry": 0.6,
    "underexposed": 0.7,
    "overexposed": 0.7,
    "glare": 0.8,
    "low_resolution": 0.7,
}
"""How much of a finding's confidence survives each flag (1 = untouched, 0 = uniform)."""

MIN_FLAGGED = 30
"""Fewest held-out photos with a flag for :func:`fit_flag_factors` to learn its factor."""


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the quality checks (documented defaults tuned on real inspection photos)."""

    blur_min_laplacian_var: float = 30.0
    dark_level: int = 10
    bright_level: int = 245
    max_dark_fraction: float = 0.5
    max_bright_fraction: float = 0.3
    min_mean: float = 25.0
    max_mean: float = 235.0
    glare_min_blob_fraction: float = 0.01
    min_side: int = 64
    analysis_side: int = 512


@dataclass
class QualityReport:
    """What the checks measured on one image, and the flags they raised.

    Examples
    --------
    >>> img = Image.fromarray(np.zeros((100, 100), np.uint8)).convert("RGB")
    >>> assess_quality(img).flags
    ['blurry', 'underexposed']
    """

    laplacian_var: float
    mean_level: float
    dark_fraction: float
    bright_fraction: float
    glare_fraction: float
    min_side: int
    flags: list[str] = field(default_factory=list)

    @property
    def confidence_factor(self) -> float:
        """Product of the raised flags' default factors (1.0 for a clean image)."""
        return flag_factor(self.flags)

    def as_vector(self) -> npt.NDArray[np.float64]:
        """Fixed-width numeric summary (used as features)."""
        return np.array(
            [
                np.log1p(self.laplacian_var),
                self.mean_level / 255.0,
                self.dark_fraction,
                self.bright_fraction,
                self.glare_fraction,
                self.confidence_factor,
            ]
        )


QUALITY_FEATURES = (
    "log_laplacian_var",
    "mean_level",
    "dark_fraction",
    "bright_fraction",
    "glare_fraction",
    "quality_factor",
)


def _laplacian_var(g: npt.NDArray[np.float64]) -> float:
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def assess_quality(img: Image.Image, settings: QualitySettings | None = None) -> QualityReport:
    """Measure blur, exposure, glare and resolution of an RGB image and raise flags."""
    s = settings or QualitySettings()
    min_side = min(img.size)
    gray = img.convert("L")
    scale = s.analysis_side / max(gray.size)
    if scale < 1:
        gray = gray.resize(
            (max(1, round(gray.size[0] * scale)), max(1, round(gray.size[1] * scale))), Image.Resampling.BOX
        )
    g = np.asarray(gray, dtype=np.float64)
    lv = _laplacian_var(g) if min(g.shape) >= 3 else 0.0
    mean = float(g.mean())
    dark = float(np.mean(g <= s.dark_level))
    bright_mask = g >= s.bright_level
    bright = float(bright_mask.mean())
    glare = 0.0
    if bright_mask.any():
        from scipy.ndimage import label

        lab, n = label(bright_mask)
        if n:
            glare = float(np.bincount(lab.ravel())[1:].max() / bright_mask.size)
    flags: list[str] = []
    if lv < s.blur_min_laplacian_var:
        flags.append("blurry")
    if dark > s.max_dark_fraction or mean < s.min_mean:
        flags.append("underexposed")
    if bright > s.max_bright_fraction or mean > s.max_mean:
        flags.append("overexposed")
    elif glare >= s.glare_min_blob_fraction:
        flags.append("glare")
    if min_side < s.min_side:
        flags.append("low_resolution")
    return QualityReport(lv, mean, dark, bright, glare, min_side, flags)


def temper(proba: npt.NDArray[np.float64], factor: float | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Pull probability rows toward uniform: f · p + (1 − f) / K (f = 1 leaves them unchanged)."""
    p = np.asarray(proba, dtype=np.float64)
    f = np.asarray(factor, dtype=np.float64)
    if f.ndim == 1:
        f = f[:, None]
    return f * p + (1.0 - f) / p.shape[-1]  # type: ignore[no-any-return]


def temper_labels(proba: npt.NDArray[np.float64], factor: float | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Pull independent per-label probabilities (columns of a multi-label head) toward 1/2: f · p + (1 − f) / 2.

    Each column is its own two-outcome distribution (the label is present or not), so its uniform
    is 1/2 whatever the number of labels; :func:`temper` on such a matrix would pull toward
    1/(number of labels), and with one label toward 1, raising a defect's probability on a flagged photo.

    >>> temper_labels(np.array([[0.1, 0.9]]), 0.5).tolist()
    [[0.3, 0.7]]
    """
    p = np.asarray(proba, dtype=np.float64)
    f = np.asarray(factor, dtype=np.float64)
    if f.ndim == 1:
        f = f[:, None]
    return f * p + (1.0 - f) * 0.5  # type: ignore[no-any-return]


def flag_factor(flags: Sequence[str], factors: Mapping[str, float] = FLAG_FACTORS) -> float:
    """The product of the flags' factors (1.0 without flags; a flag missing from ``factors`` takes its default)."""
    return float(np.prod([factors.get(f, FLAG_FACTORS.get(f, 1.0)) for f in flags])) if flags else 1.0


def fit_flag_factors(
    proba: npt.ArrayLike,
    y: Sequence[int] | npt.ArrayLike,
    flags: Sequence[Sequence[str]],
    *,
    prior: Mapping[str, float] = FLAG_FACTORS,
    min_flagged: int = MIN_FLAGGED,
    floor: float = 0.05,
    sweeps: int = 3,
) -> tuple[dict[str, float], dict[str, int]]:
    """Per flag, the factor that maximises the held-out log-likelihood of the tempered predictions.

    ``proba`` are predictions for images the head did not train on (out-of-fold), ``y`` their true
    levels, ``flags`` each image's quality flags. An image's factor is the product over its flags
    (:func:`flag_factor`), so the factors are fitted one at a time, a few sweeps, each by a bounded
    scalar search in [``floor``, 1]. Fitting a confidence adjustment on held-out predictions is
    the recipe of post-hoc calibration (J. Platt, "Probabilistic outputs for support vector
    machines", 1999; C. Guo et al., "On calibration of modern neural networks", ICML 2017); here
    it is one parameter per quality flag, so a flag on whose images the head's own probabilities
    are already honest (a "blurry" reading of smooth surfaces) stops costing confidence, and one
    on whose images the head is over-confident keeps or deepens its cost. A flag raised on fewer
    than ``min_flagged`` images keeps its
    ``prior`` factor. Returns ``(factors, images flagged per flag)``.

    Examples
    --------
    >>> p = np.tile([[0.9, 0.1]], (40, 1)); y = np.zeros(40, int)  # flagged images are still read right
    >>> factors, counts = fit_flag_factors(p, y, [["blurry"]] * 40)
    >>> round(factors["blurry"], 2), counts["blurry"]
    (1.0, 40)
    """
    from scipy.optimize import minimize_scalar

    P = np.asarray(proba, dtype=np.float64)
    yv = np.asarray(y, dtype=np.int64)
    if P.ndim != 2 or len(P) != len(yv) or len(flags) != len(yv):
        raise ValidationError(f"{len(P)} predictions, {len(yv)} labels and {len(flags)} flag lists must match",
                              where="fit_flag_factors")
    py = np.clip(P[np.arange(len(yv)), yv], 1e-12, 1.0) if len(yv) else np.zeros(0)
    uniform = 1.0 / P.shape[1] if P.ndim == 2 and P.shape[1] else 1.0
    counts: dict[str, int] = {}
    for fl in flags:
        for f in set(fl):
            counts[f] = counts.get(f, 0) + 1
    factors = {f: float(prior.get(f, FLAG_FACTORS.get(f, 1.0))) for f in counts}
    learn = sorted(f for f, n in counts.items() if n >= min_flagged)
    has = {f: np.array([f in fl for fl in flags]) for f in learn}
    for _ in range(sweeps if learn else 0):
        for f in learn:
            m = has[f]
            rest = np.array([flag_factor([g for g in fl if g != f], factors) for fl, keep in zip(flags, m, strict=True)
                             if keep])

            def nll(v: float, rest: npt.NDArray[np.float64] = rest, m: npt.NDArray[np.bool_] = m) -> float:
                t = v * rest
                return float(-np.log(t * py[m] + (1.0 - t) * uniform).sum())

            factors[f] = float(minimize_scalar(nll, bounds=(floor, 1.0), method="bounded",
                                               options={"xatol": 1e-4}).x)
    return factors, counts
