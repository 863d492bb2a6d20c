"""assetgrade.datasets."""
