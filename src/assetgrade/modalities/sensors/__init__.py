"""assetgrade.modalities.sensors."""
