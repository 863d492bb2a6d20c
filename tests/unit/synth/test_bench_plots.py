"""The fidelity and drift benchmark plots: skipped checks, empty statistics, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.bench.drift import plot_mmd
from assetgrade.bench.fidelity import plot_fidelity
from assetgrade.errors import StoreError


def test_fidelity_plot_when_the_adversarial_check_was_skipped(tmp_path: Path) -> None:
    # a run with fewer than 2 synthetic items: adversarial skipped, its AUC None, no image statistics
    metrics = {"adversarial_auc": None, "real_test_accuracy_real_only": 0.9, "sim_to_real_accuracy_real_to_real": None}
    out = tmp_path / "sub" / "f.png"
    plot_fidelity(metrics, [], out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "d.png"
    plot_mmd([0.1, 0.2], [[0.5]], 0.3, out)
    before = out.read_bytes()
    import matplotlib.figure

    def broken(self: object, fname: Path, **kwargs: object) -> None:
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(StoreError, match=r"d\.png"):
        plot_mmd([0.1], [], 0.3, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]
