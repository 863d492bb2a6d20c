"""assetgrade.fusion."""
