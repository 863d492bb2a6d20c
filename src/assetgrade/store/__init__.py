"""The asset store: schema, repository functions, audit chain, blob store and record loading."""

from assetgrade.store import (
    auth_schema,  # noqa: F401  (registers the REST tables on Base.metadata)
    lifecycle_schema,  # noqa: F401  (registers the model registry tables)
)
from assetgrade.store.audit import (
    ChainReport,
    EventRow,
    append_event,
    chain_head,
    list_events,
    read_events,
    verify_chain,
)
from assetgrade.store.blobs import BlobStore
from assetgrade.store.loading import load_records, stats
from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef
from assetgrade.store.repository import (
    ProvenanceInfo,
    add_asset,
    add_evidence,
    add_label,
    add_transaction,
    get_asset,
    get_evidence,
    get_provenance,
    list_assets,
    list_evidence,
    list_labels,
    list_transactions,
)
from assetgrade.store.results import (
    add_prediction,
    add_review,
    get_prediction,
    latest_prediction,
    list_predictions,
    list_reviews,
)
from assetgrade.store.withdrawals import reinstate_evidence, withdraw_evidence

__all__ = [
    "AssetRecord",
    "BlobStore",
    "ChainReport",
    "EventRow",
    "ImageRef",
    "LogEntry",
    "ProvenanceInfo",
    "SeriesRef",
    "add_asset",
    "add_evidence",
    "add_label",
    "add_prediction",
    "add_review",
    "add_transaction",
    "append_event",
    "chain_head",
    "get_asset",
    "get_evidence",
    "get_prediction",
    "get_provenance",
    "latest_prediction",
    "list_assets",
    "list_events",
    "list_evidence",
    "list_labels",
    "list_predictions",
    "list_reviews",
    "list_transactions",
    "load_records",
    "read_events",
    "reinstate_evidence",
    "stats",
    "verify_chain",
    "withdraw_evidence",
]
