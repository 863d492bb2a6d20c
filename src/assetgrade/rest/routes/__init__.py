"""REST route modules, one per resource group; each exposes ``router``."""

__all__: list[str] = []
