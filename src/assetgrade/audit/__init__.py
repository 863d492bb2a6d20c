"""assetgrade.audit."""
