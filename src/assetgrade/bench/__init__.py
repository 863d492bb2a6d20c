"""assetgrade.bench."""
