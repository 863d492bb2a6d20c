"""assetgrade.rest."""
