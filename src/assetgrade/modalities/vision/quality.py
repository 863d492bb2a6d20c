"""Image-quality checks (blur, exposure, glare, resolution) that flag images and temper their findings.

Blur is the variance of the Laplacian (J. L. Pech-Pacheco et al., "Diatom autofocusing in
brightfield microscopy: a comparative study", ICPR 2000); exposure is the share of clipped
dark/bright pixels; glare is a large connected blob of saturated pixels in an otherwise normally
exposed image. A flagged image still counts, but its probabilities are pulled toward uniform:
p' = f · p + (1 − f) / K with f = the product of the flags' factors (``FLAG_FACTORS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["FLAG_FACTORS", "QUALITY_FEATURES", "QualityReport", "QualitySettings", "assess_quality", "temper"]

FLAG_FACTORS: dict[str, float] = {
    "blurry": 0.6,
    "underexposed": 0.7,
    "overexposed": 0.7,
    "glare": 0.8,
    "low_resolution": 0.7,
}
"""How much of a finding's confidence survives each flag (1 = untouched, 0 = uniform)."""


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
        """Product of the raised flags' factors (1.0 for a clean image)."""
        return float(np.prod([FLAG_FACTORS[f] for f in self.flags])) if self.flags else 1.0

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
