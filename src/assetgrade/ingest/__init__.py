"""Ingest: manifests, folder-per-class trees, VOC/COCO/YOLO, sensor series and work orders into a workspace."""

from assetgrade.ingest.detection import coco_items, voc_items, yolo_items
from assetgrade.ingest.folders import folder_items
from assetgrade.ingest.images import ImageInfo, validate_image
from assetgrade.ingest.items import ItemSpec, LabelSpec, default_evidence_id
from assetgrade.ingest.manifest import manifest_items
from assetgrade.ingest.report import IngestNotice, IngestReport, RowError
from assetgrade.ingest.series import SeriesOptions, series_items, series_to_parquet, validate_series
from assetgrade.ingest.terms import TermChecker
from assetgrade.ingest.workorders import WorkOrderColumns, work_order_items
from assetgrade.ingest.writer import Ingestor

__all__ = [
    "ImageInfo",
    "IngestNotice",
    "IngestReport",
    "Ingestor",
    "ItemSpec",
    "LabelSpec",
    "RowError",
    "SeriesOptions",
    "TermChecker",
    "WorkOrderColumns",
    "coco_items",
    "default_evidence_id",
    "folder_items",
    "manifest_items",
    "series_items",
    "series_to_parquet",
    "validate_image",
    "validate_series",
    "voc_items",
    "work_order_items",
    "yolo_items",
]
