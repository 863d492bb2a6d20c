"""assetgrade.fusion: per-modality evidence → one calibrated grade distribution, conformal sets, contradictions."""

from assetgrade.fusion.calibration import (
    IsotonicCalibrator,
    TemperatureScaler,
    classwise_ece,
    debiased_ece,
    expected_calibration_error,
    reliability_diagram,
)
from assetgrade.fusion.combine import Fuser, cross_val_proba
from assetgrade.fusion.conformal import ConformalResult, SplitConformal, coverage, mean_set_size
from assetgrade.fusion.contradictions import (
    Contradiction,
    contradictions_for_blocks,
    find_contradictions,
    ordinal_distance,
)
from assetgrade.fusion.folds import cross_val_blocks, grouped_folds
from assetgrade.fusion.latent import LatentLevelTable
from assetgrade.fusion.pipeline import FusionModel, FusionOutput

__all__ = [
    "ConformalResult",
    "Contradiction",
    "Fuser",
    "FusionModel",
    "FusionOutput",
    "IsotonicCalibrator",
    "LatentLevelTable",
    "SplitConformal",
    "TemperatureScaler",
    "classwise_ece",
    "contradictions_for_blocks",
    "coverage",
    "cross_val_blocks",
    "cross_val_proba",
    "debiased_ece",
    "expected_calibration_error",
    "find_contradictions",
    "grouped_folds",
    "mean_set_size",
    "ordinal_distance",
    "reliability_diagram",
]
