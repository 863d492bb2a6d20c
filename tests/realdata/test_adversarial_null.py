"""Real data: the adversarial check's false-alarm benchmark on NEU runs, and the same seed gives the same figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.bench.adversarial_null import AdversarialNullConfig, run_adversarial_null_bench
from assetgrade.errors import ValidationError

pytestmark = pytest.mark.realdata


def test_a_reduced_adversarial_null_run_is_reproducible(shared_data: Path) -> None:
    if not (shared_data / "neu-det" / "images").is_dir():
        pytest.skip("neu-det not in the shared data")
    cfg = AdversarialNullConfig(n_sets=4, n_real=30, n_fake=3, per_class=10, seed=1,
                                data_dir=shared_data / "neu-det")
    first, again = run_adversarial_null_bench(cfg).to_dict(), run_adversarial_null_bench(cfg).to_dict()
    rates = first["metrics"]["false_failure"]
    assert set(rates) == {"normal_approximation", "permutation"}
    for r in rates.values():
        assert 0 <= r["failures"] <= 4 and r["ci95"][0] <= r["rate"] <= r["ci95"][1]
    shortcuts = first["metrics"]["false_shortcut"]
    # the Bonferroni condition only removes names that effect size alone would give
    assert shortcuts["with_bonferroni"]["sets"] <= shortcuts["effect_size_alone"]["sets"] <= 4
    assert first["metrics"]["sets_skipped"] == 0
    assert first["metrics"] == again["metrics"]  # seeded: the same sets, folds and relabellings
    with pytest.raises(ValidationError, match="needs that many"):
        run_adversarial_null_bench(AdversarialNullConfig(n_real=60, n_fake=5, per_class=10,
                                                          data_dir=shared_data / "neu-det"))
