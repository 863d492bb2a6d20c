"""assetgrade.cli."""
