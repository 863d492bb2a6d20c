"""assetgrade.decision."""
