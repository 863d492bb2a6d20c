"""assetgrade.modalities."""
