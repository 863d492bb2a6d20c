"""assetgrade.review."""
