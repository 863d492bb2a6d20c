"""Data-fidelity audit checks (plug-ins with one result shape), drift detection, and their reports."""

from assetgrade.audit.base import (
    AuditReport,
    Check,
    CheckResult,
    available_checks,
    build_checks,
    check_class,
    get_check,
    register_check,
    run_checks,
)
from assetgrade.audit.data import AuditData, audit_data_from_records, image_loader_from_refs

__all__ = [
    "AuditData",
    "AuditReport",
    "Check",
    "CheckResult",
    "audit_data_from_records",
    "available_checks",
    "build_checks",
    "check_class",
    "get_check",
    "image_loader_from_refs",
    "register_check",
    "run_checks",
]
