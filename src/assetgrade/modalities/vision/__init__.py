"""assetgrade.modalities.vision."""
