"""assetgrade.grading: the Grader's building blocks (out-of-fold training, caching, decisions, reports, bundles)."""

__all__: list[str] = []
