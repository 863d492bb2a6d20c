"""Model lifecycle: registry with lineage, frozen golden sets, champion/challenger, triggers, telemetry, exports.

See ``docs/lifecycle.md`` and ``docs/audit-trail.md``. Modules:

- :mod:`~assetgrade.lifecycle.registry`: ``ModelRegistry`` (register, evaluate, promote, rollback), which calls
  :mod:`~assetgrade.lifecycle.versions` (``ModelInfo``), :mod:`~assetgrade.lifecycle.registration` (names,
  bundle copy, lineage) and :mod:`~assetgrade.lifecycle.promotion` (champion/challenger, rollback);
- :mod:`~assetgrade.lifecycle.serving`: install the champion as ``models/grader``, the model that grades;
- :mod:`~assetgrade.lifecycle.golden`: freeze and verify golden sets;
- :mod:`~assetgrade.lifecycle.evaluate`: golden-set metrics per subgroup, ``PromotionPolicy``, ``compare``;
- :mod:`~assetgrade.lifecycle.paired`: paired bootstrap intervals and McNemar's test for the promotion gates;
- :mod:`~assetgrade.lifecycle.retrain`: retrain from reviewed labels with before/after figures;
- :mod:`~assetgrade.lifecycle.triggers`: retraining triggers (drift, override rate, new labels);
- :mod:`~assetgrade.lifecycle.telemetry`: per-station drift from edge telemetry;
- :mod:`~assetgrade.lifecycle.exports`: model documentation and datasheet (JSON + HTML);
- :mod:`~assetgrade.lifecycle.bundles`: bundle loaders, digests, code version.
"""

from assetgrade.lifecycle.bundles import bundle_digest, code_version, register_bundle_loader
from assetgrade.lifecycle.evaluate import GoldenEvaluation, PromotionPolicy, compare, evaluate_on_golden
from assetgrade.lifecycle.golden import (
    GoldenSet,
    freeze_golden_set,
    get_golden_set,
    golden_records,
    verify_golden_set,
)
from assetgrade.lifecycle.registry import ModelInfo, ModelRegistry, PromotionResult

__all__ = [
    "GoldenEvaluation",
    "GoldenSet",
    "ModelInfo",
    "ModelRegistry",
    "PromotionPolicy",
    "PromotionResult",
    "bundle_digest",
    "code_version",
    "compare",
    "evaluate_on_golden",
    "freeze_golden_set",
    "get_golden_set",
    "golden_records",
    "register_bundle_loader",
    "verify_golden_set",
]
