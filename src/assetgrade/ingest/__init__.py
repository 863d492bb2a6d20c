"""assetgrade.ingest."""
