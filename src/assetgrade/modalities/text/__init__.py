"""assetgrade.modalities.text."""
