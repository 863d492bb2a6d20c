"""Sensor evidence: window, trend and spectral features, anomaly events, health index and RUL.

Importing this package registers the ``"sensors"`` extractor
(:class:`~assetgrade.modalities.sensors.extractor.SensorExtractor`).
"""

from assetgrade.modalities.sensors.events import change_points, detect_events, exceedance_windows
from assetgrade.modalities.sensors.extractor import RUL_FEATURES, SensorExtractor
from assetgrade.modalities.sensors.features import (
    STAT_NAMES,
    RegimeNormalizer,
    rolling_features,
    spectral_features,
    spectral_features_of_channels,
    window_statistics,
)
from assetgrade.modalities.sensors.grading import RulGradeMap, default_grade_names
from assetgrade.modalities.sensors.health import RulModel, RulPrediction, conformal_correction, rul_targets
from assetgrade.modalities.sensors.validate import CheckedSeries, check_series

__all__ = [
    "RUL_FEATURES",
    "STAT_NAMES",
    "CheckedSeries",
    "RegimeNormalizer",
    "RulGradeMap",
    "RulModel",
    "RulPrediction",
    "SensorExtractor",
    "change_points",
    "check_series",
    "conformal_correction",
    "default_grade_names",
    "detect_events",
    "exceedance_windows",
    "rolling_features",
    "rul_targets",
    "spectral_features",
    "spectral_features_of_channels",
    "window_statistics",
]
