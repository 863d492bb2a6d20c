"""assetgrade.store."""
