"""``assetgrade bench active`` and ``assetgrade bench label-noise``: review-science benchmarks on real images."""

from __future__ import annotations

from pathlib import Path

import typer

from assetgrade.cli.choices import ImageDataset, LabelNoiseMethod
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, interval, positive, valid_seed

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the active-learning and label-noise benchmarks to the ``bench`` sub-app."""

    @app.command("active")
    def bench_active(
        dataset: ImageDataset = typer.Option("neu", help="elpv, neu, or folder (--data-dir DIR/<class>/<images>)"),
        data_dir: Path | None = typer.Option(None, help="data folder (default: shared data / installed package)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        out_dir: Path | None = typer.Option(None, help="where the learning-curve PNG goes (default: beside --json)"),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        batch: int = typer.Option(5, callback=at_least(1), help="items queried per round"),
        strategies: str = typer.Option(
            "random,least_confidence,margin,entropy,expected_cost,uncertain_coreset,badge,typiclust,budget_switch",
            help="comma-separated strategy names (must include random)",
        ),
        repeats: int = typer.Option(5, callback=at_least(1),
                                    help="runs per strategy with different seed sets (labels averaged)"),
        seed_per_class: int = typer.Option(1, callback=at_least(1),
                                           help="labelled items per class before the first query"),
        switch_per_class: float = typer.Option(
            10.0, callback=positive(),
            help="budget_switch: labels per class at which it turns from typiclust to uncertain_coreset",
        ),
        max_labels: int | None = typer.Option(
            None, callback=at_least(1), help="stop a run at this many labels (default: the whole pool)"
        ),
        C: float = typer.Option(0.5, "--C", callback=positive(), help="inverse regularisation of the logistic head"),
        pca_dim: int = typer.Option(128, callback=at_least(0),
                                    help="PCA dimensions of the backbone features (0 = none)"),
        per_class: int | None = typer.Option(
            None, callback=at_least(4),
            help="use only N images per class (quick runs; at least 4: the stratified 75/25 split "
            "needs a test image of every class)"
        ),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
    ) -> None:
        """Labels each active-learning strategy needs to reach 95 % / 99 % of full-data accuracy, vs random."""
        from assetgrade.bench.active import ActiveConfig, run_active_bench
        from assetgrade.bench.report import write_result

        cfg = ActiveConfig(
            dataset=dataset,
            data_dir=data_dir,
            seed=seed,
            batch=batch,
            strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
            seed_per_class=seed_per_class,
            switch_per_class=switch_per_class,
            repeats=repeats,
            max_labels=max_labels,
            C=C,
            pca_dim=pca_dim,
            per_class=per_class,
            cache_dir=cache_dir,
            out_dir=out_dir or (json_path.parent if json_path else None),
        )
        typer.echo(write_result(run_active_bench(cfg), json_path))

    @app.command("label-noise")
    def bench_label_noise(
        dataset: ImageDataset = typer.Option("neu", help="elpv, neu, or folder (--data-dir DIR/<class>/<images>)"),
        data_dir: Path | None = typer.Option(None, help="data folder (default: shared data / installed package)"),
        noise: float = typer.Option(0.1, callback=interval(0.0, 1.0, high_open=True),
                                    help="fraction of labels flipped (seeded), in [0, 1)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        folds: int = typer.Option(5, callback=at_least(2), help="folds for the out-of-fold probabilities"),
        method: LabelNoiseMethod = typer.Option(
            "prune_by_noise_rate", help="how confident learning ranks label issues"
        ),
        C: float = typer.Option(0.1, "--C", callback=positive(), help="inverse regularisation of the logistic head"),
        pca_dim: int = typer.Option(128, callback=at_least(0),
                                    help="PCA dimensions of the backbone features (0 = none)"),
        per_class: int | None = typer.Option(
            None, callback=at_least(2),
            help="use only N images per class (quick runs; at least 2, and at least --folds)"
        ),
        cache_dir: Path | None = typer.Option(None, help="feature cache root (default ~/.cache/assetgrade)"),
    ) -> None:
        """Precision and recall of confident-learning label-issue detection on planted label flips."""
        from assetgrade.bench.label_noise import LabelNoiseConfig, run_label_noise_bench
        from assetgrade.bench.report import write_result
        from assetgrade.errors import ValidationError

        if per_class is not None and per_class < folds:
            raise ValidationError(f"{per_class} images per class cannot fill {folds} stratified folds; use at least "
                                  f"{folds} or lower --folds", where="--per-class")

        cfg = LabelNoiseConfig(
            dataset=dataset,
            data_dir=data_dir,
            noise=noise,
            seed=seed,
            folds=folds,
            method=method,
            C=C,
            pca_dim=pca_dim,
            per_class=per_class,
            cache_dir=cache_dir,
        )
        typer.echo(write_result(run_label_noise_bench(cfg), json_path))
