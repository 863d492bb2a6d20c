"""``assetgrade demo``: build a workspace from real data the install provides, train, grade, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from assetgrade.cli.console import console, styled
from assetgrade.cli.options import SEED_MAX, interval, valid_seed

__all__ = ["MAX_DEMO_ASSETS", "register"]

MAX_DEMO_ASSETS = 2000
"""The most assets the demo builds: each takes ELPV cells of its own split, and the package's 2,624 cells, dealt
60/20/20, give the calibration and test splits about 525 each (a larger --n-assets was refused only after the
workspace was made, or was an OverflowError)."""


def register(app: typer.Typer) -> None:
    """Add ``assetgrade demo`` to the app."""

    @app.command("demo")
    def demo(
        workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Folder for the demo workspace.")] = Path(
            "demo-workspace"),
        n_assets: Annotated[int, typer.Option(help=f"Linked assets to build, in [3, {MAX_DEMO_ASSETS}].",
                                              callback=interval(3, MAX_DEMO_ASSETS))] = 150,
        seed: Annotated[int, typer.Option(help=f"Seed, in [0, {SEED_MAX}].", callback=valid_seed())] = 0,
        folds: Annotated[int, typer.Option(help="Grouped folds for out-of-fold training (at least 2, at most"
                                           " --n-assets).", callback=interval(2, MAX_DEMO_ASSETS))] = 3,
        reports: Annotated[int, typer.Option(help=f"HTML reports to write, in [0, {MAX_DEMO_ASSETS}] (one per"
                                             " asset: at most --n-assets).",
                                             callback=interval(0, MAX_DEMO_ASSETS))] = 3,
    ) -> None:
        """Ingest ELPV images + C-MAPSS and MaintIE samples as linked assets, train, grade all, write reports."""
        from rich.table import Table

        from assetgrade.cli.grading import status
        from assetgrade.errors import ValidationError

        if folds > n_assets:
            raise ValidationError(f"{folds} folds for {n_assets} assets: each fold needs assets; give at most"
                                  " --n-assets", where="--folds")
        from assetgrade.grading.demo import run_demo
        from assetgrade.grading.evaluate import own_label_line

        with status("demo") as step:
            s = run_demo(workspace, n_assets=n_assets, seed=seed, folds=folds, n_reports=reports, progress=step)
        ing = s["ingest"]
        added = ", ".join(f"{n} {what}" for what, n in ing["added"].items())
        console.print(styled("bold", "workspace", f" {s['workspace']}: {s['assets']} assets (ingest added {added}; "
                             f"{ing['skipped_existing']} items already there; {ing['errors']} errors)"))
        mix = Table(title="Grades and decisions")
        mix.add_column("grade")
        mix.add_column("assets", justify="right")
        for g, n in s["grade_mix"].items():
            mix.add_row(g, str(n))
        for d, n in sorted(s["decisions"].items()):
            mix.add_row(Text(d, style="bold"), str(n))
        console.print(mix)
        o = s["oof"]
        fig = Table(title=f"Out-of-fold figures ({o['n']} labelled assets, {folds}-fold grouped CV), "
                          f"model {s['model_version']}")
        for col in ("model", "accuracy", "QWK", "ECE", "coverage", "set size", "exp. cost/asset",
                    "accept@≤2% err", "policy accept"):
            fig.add_column(col, justify="right")
        fig.add_row("fused", f"{o['accuracy']:.3f}", f"{o['qwk']:.3f}", f"{o['ece']:.3f}", f"{o['coverage']:.3f}",
                    f"{o['mean_set_size']:.2f}", f"{o['expected_cost']:,.0f}", f"{o['accept_rate_at_error']:.1%}",
                    f"{o['auto_accept_rate']:.1%}")
        for mod, v in s["oof_per_modality"].items():
            fig.add_row(f"{mod} only", f"{v['accuracy']:.3f}", f"{v['qwk']:.3f}", f"{v['ece']:.3f}", "", "",
                        f"{v['expected_cost']:,.0f}", "", "")
        console.print(fig)
        if (line := own_label_line(s["oof_per_modality"])) is not None:
            console.print(line)
        thr = s["review_threshold"]
        console.print(f"calibration: {s['calibration']}; review threshold on expected cost: "
                      + (f"{thr:,.0f}" if thr is not None and thr > float("-inf") else "none certified (all reviewed)"))
        for note in s["notes"]:
            console.print(styled("yellow", "note:", f" {note}"))
        for p in s["reports"]:
            console.print(styled("green", "report", f" {p}"))
        for name, p in s["plots"].items():
            console.print(styled("green", name, f" {p}"))
        console.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in s["timings_s"].items())
                      + f"; total {s['wall_s']}")
        console.print(styled("bold", "open", f" {s['index']} (the reports, figures and plots on one page)"))
