"""``assetgrade bench fidelity`` and ``assetgrade bench drift``: data-fidelity and drift benchmarks."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the fidelity and drift benchmarks to the ``bench`` sub-app."""

    @app.command("fidelity")
    def bench_fidelity(
        data_dir: Path | None = typer.Option(None, help="NEU folder (default: shared data neu-det)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here"),
        seed: int = typer.Option(0),
        per_class: int | None = typer.Option(None, help="use only N images per class (quick runs)"),
        high_share: float = typer.Option(0.3, help="synthetic share of the training pool for the audit"),
        low_share: float = typer.Option(0.1, help="the smaller synthetic share for the accuracy comparison"),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
        synth: str = typer.Option("defects", help="defects (procedural, by class) | augmented | mixed"),
    ) -> None:
        """NEU + marked synthetic defects: adversarial AUC, shortcuts, sim-to-real gap, accuracy at 10% synthetic."""
        from assetgrade.bench.fidelity import FidelityConfig, run_fidelity_bench
        from assetgrade.bench.report import write_result

        cfg = FidelityConfig(data_dir=data_dir, seed=seed, per_class=per_class, high_share=high_share,
                             low_share=low_share, cache_dir=cache_dir, progress=True, synth=synth,
                             plot_path=json_path.with_suffix(".png") if json_path else None)
        typer.echo(write_result(run_fidelity_bench(cfg), json_path))

    @app.command("drift")
    def bench_drift(
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here"),
        seed: int = typer.Option(0),
        data_dir: Path | None = typer.Option(None, help="another ELPV copy (labels.csv + images/)"),
        share: float = typer.Option(0.5, help="share of each shifted batch that is darkened/flattened"),
        gain: float = typer.Option(0.75, help="lighting gain of the shift"),
        contrast: float = typer.Option(0.7, help="contrast factor of the shift"),
        batch_size: int = typer.Option(200),
        clean_batches: int = typer.Option(20, help="unshifted batches (false-alarm count)"),
        streams: int = typer.Option(5, help="independent shifted streams"),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
    ) -> None:
        """ELPV embeddings: batches to detect a lighting/contrast shift, false alarms on unshifted batches."""
        from assetgrade.bench.drift import DriftBenchConfig, run_drift_bench
        from assetgrade.bench.report import write_result

        cfg = DriftBenchConfig(seed=seed, data_dir=data_dir, share=share, gain=gain, contrast=contrast,
                               batch_size=batch_size, n_clean_batches=clean_batches, n_streams=streams,
                               cache_dir=cache_dir, progress=True,
                               plot_path=json_path.with_suffix(".png") if json_path else None)
        typer.echo(write_result(run_drift_bench(cfg), json_path))
