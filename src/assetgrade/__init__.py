"""assetgrade: calibrated, auditable condition grades for used industrial assets."""

__version__ = "0.1.0"
__all__ = ["__version__"]
