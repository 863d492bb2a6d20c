"""Vision evidence: pretrained EfficientNet-Lite features, grade and defect heads, anomaly maps, image quality."""

from assetgrade.modalities.vision.anomaly import AlarmThreshold, PatchCore, greedy_coreset, patch_features
from assetgrade.modalities.vision.backbone import BACKBONES, Backbone, BackboneOutputs
from assetgrade.modalities.vision.cache import FeatureCache
from assetgrade.modalities.vision.extractor import VisionExtractor
from assetgrade.modalities.vision.features import FeatureBatch, extract_pooled
from assetgrade.modalities.vision.heads import LinearProbe, MultiLabelProbe, OrdinalLogistic
from assetgrade.modalities.vision.heatmaps import cam_map, overlay_png, peak_in_boxes, peak_region
from assetgrade.modalities.vision.images import PREPROCESS_VERSION, decode_image, preprocess
from assetgrade.modalities.vision.quality import QualityReport, QualitySettings, assess_quality, temper

__all__ = [
    "BACKBONES",
    "PREPROCESS_VERSION",
    "AlarmThreshold",
    "Backbone",
    "BackboneOutputs",
    "FeatureBatch",
    "FeatureCache",
    "LinearProbe",
    "MultiLabelProbe",
    "OrdinalLogistic",
    "PatchCore",
    "QualityReport",
    "QualitySettings",
    "VisionExtractor",
    "assess_quality",
    "cam_map",
    "decode_image",
    "extract_pooled",
    "greedy_coreset",
    "overlay_png",
    "patch_features",
    "peak_in_boxes",
    "peak_region",
    "preprocess",
    "temper",
]
