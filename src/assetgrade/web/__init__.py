"""assetgrade.web."""
