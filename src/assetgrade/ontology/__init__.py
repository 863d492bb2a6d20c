"""assetgrade.ontology."""
