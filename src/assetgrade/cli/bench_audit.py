"""``assetgrade bench fidelity | adversarial-null | drift``: data-fidelity, audit false-alarm and drift benchmarks."""

from __future__ import annotations

from pathlib import Path

import typer

from assetgrade.cli.choices import SynthMode
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, interval, plot_beside, positive, valid_seed

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the fidelity, adversarial-null and drift benchmarks to the ``bench`` sub-app."""

    @app.command("fidelity")
    def bench_fidelity(
        data_dir: Path | None = typer.Option(None, help="NEU folder (default: shared data neu-det)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        per_class: int | None = typer.Option(
            None, callback=at_least(3),
            help="use only N images per class (quick runs; at least 3: the stratified 70/30 split "
            "needs a test image of every class)"
        ),
        high_share: float = typer.Option(0.3, callback=interval(0.0, 1.0, low_open=True, high_open=True),
                                         help="synthetic share of the training pool for the audit, in (0, 1)"),
        low_share: float = typer.Option(0.1, callback=interval(0.0, 1.0, low_open=True, high_open=True),
                                        help="the smaller synthetic share for the accuracy comparison, in (0, 1) "
                                        "and at most --high-share"),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
        synth: SynthMode = typer.Option("defects", help="defects (procedural, by class), augmented or mixed"),
    ) -> None:
        """NEU + marked synthetic defects: adversarial AUC, shortcuts, sim-to-real gap, accuracy at 10% synthetic."""
        from assetgrade.bench.fidelity import FidelityConfig, check_fidelity_config, run_fidelity_bench
        from assetgrade.bench.report import write_result

        cfg = FidelityConfig(data_dir=data_dir, seed=seed, per_class=per_class, high_share=high_share,
                             low_share=low_share, cache_dir=cache_dir, progress=True, synth=synth,
                             plot_path=plot_beside(json_path))
        check_fidelity_config(cfg)
        typer.echo(write_result(run_fidelity_bench(cfg), json_path))

    @app.command("adversarial-null")
    def bench_adversarial_null(
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        n_sets: int = typer.Option(200, "--n-sets", callback=at_least(1), help="random sets to run"),
        n_real: int = typer.Option(200, "--n-real", callback=at_least(2), help="images left as real in a set"),
        n_fake: int = typer.Option(5, "--n-fake", callback=at_least(2), help="real images marked synthetic"),
        alpha: float = typer.Option(0.05, callback=interval(0.0, 1.0, low_open=True, high_open=True),
                                    help="the check's significance level, in (0, 1)"),
        data_dir: Path | None = typer.Option(None, help="NEU folder (default: shared data neu-det)"),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
    ) -> None:
        """False alarms of the adversarial check: NEU sets where some real images are marked synthetic."""
        from assetgrade.bench.adversarial_null import AdversarialNullConfig, run_adversarial_null_bench
        from assetgrade.bench.report import write_result

        cfg = AdversarialNullConfig(n_sets=n_sets, n_real=n_real, n_fake=n_fake, alpha=alpha, seed=seed,
                                    data_dir=data_dir, cache_dir=cache_dir, progress=True)
        typer.echo(write_result(run_adversarial_null_bench(cfg), json_path))

    @app.command("drift")
    def bench_drift(
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        data_dir: Path | None = typer.Option(None, help="another ELPV copy (labels.csv + images/)"),
        share: float = typer.Option(0.5, callback=interval(0.0, 1.0, low_open=True),
                                    help="share of each shifted batch that is darkened/flattened, in (0, 1]"),
        gain: float = typer.Option(0.75, callback=positive(), help="lighting gain of the shift (> 0)"),
        contrast: float = typer.Option(0.7, callback=positive(), help="contrast factor of the shift (> 0)"),
        batch_size: int = typer.Option(200, callback=at_least(2), help="images per monitored batch"),
        clean_batches: int = typer.Option(20, callback=at_least(1), help="unshifted batches (false-alarm count)"),
        streams: int = typer.Option(5, callback=at_least(1), help="independent shifted streams"),
        limit: int | None = typer.Option(
            None, callback=at_least(10),
            help="quick run: only N ELPV cells (seeded), half of them (at most 1000) the reference "
            "window, the rest the pool; the reference needs batch size + 4 cells and the pool a batch, so lower "
            "--batch-size with a small N (e.g. --limit 200 --batch-size 40)"
        ),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
    ) -> None:
        """ELPV embeddings: batches to detect a lighting/contrast shift, false alarms on unshifted batches."""
        from assetgrade.bench.drift import DriftBenchConfig, check_drift_config, run_drift_bench
        from assetgrade.bench.report import write_result

        cfg = DriftBenchConfig(seed=seed, data_dir=data_dir, share=share, gain=gain, contrast=contrast,
                               batch_size=batch_size, n_clean_batches=clean_batches, n_streams=streams,
                               limit=limit, cache_dir=cache_dir, progress=True,
                               plot_path=plot_beside(json_path))
        check_drift_config(cfg)
        typer.echo(write_result(run_drift_bench(cfg), json_path))
