"""assetgrade.lifecycle."""
