"""`los train` and `los evaluate`: fit, register and gate every target; assess registered models."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli import loading, params
from cli.console import out, progress, reporting_errors
from cli.options import (
    ConfigOpt,
    DataOpt,
    MappingOpt,
    ModelOpt,
    QueryOpt,
    ReportDirOpt,
    SchedulerOpt,
)


class Period(StrEnum):
    """Which rows `los evaluate` scores."""

    test = "test"
    all = "all"


def train(
    data: DataOpt = "data/admissions.parquet",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports", parser=params.output_folder, metavar="DIR", help="report directory"
        ),
    ] = None,
    show_gates: Annotated[
        bool, typer.Option("--show-gates", help="print every gate, not only failed ones")
    ] = False,
) -> None:
    """Train every target, register versions as `challenger`, promote those passing the gates."""
    with reporting_errors():
        loading.check_source(data, query)
        from los.config import TrainingConfig
        from training.register import train_and_register
        from training.summary import summary_lines

        cfg = TrainingConfig.from_file(config)
        settings = loading.settings()
        quarantine = settings.los_data_dir / "quarantine" / "train.csv"
        frame = loading.load(data, query, mapping, quarantine, cfg.max_quarantine_share)
        report_dir = reports or settings.los_data_dir / "reports" / "latest"
        summary = train_and_register(frame, cfg, settings, report_dir, progress)
        for line in summary_lines(summary, show_gates):
            out.print(line, highlight=False, markup=False, soft_wrap=True)


def evaluate(
    data: DataOpt,
    out_dir: ReportDirOpt,
    model: ModelOpt = "champion",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
    period: Annotated[
        Period, typer.Option("--period", help="test: the models' test window onwards; all")
    ] = Period.test,
    scheduler: SchedulerOpt = None,
) -> None:
    """Write metrics.json and report.html for every target."""
    with reporting_errors():
        loading.check_source(data, query)
        from evaluation.assess import evaluate_models
        from los.config import TrainingConfig

        cfg = TrainingConfig.from_file(config)
        settings, models, _ = loading.registered(model)
        quarantine = settings.los_data_dir / "quarantine" / "evaluate.csv"
        frame = loading.load(data, query, mapping, quarantine)
        probabilities = None
        address = scheduler or settings.los_dask_scheduler
        if address:
            from models.scorer import Scorer
            from scale.partitioned import probabilities as partitioned_probabilities

            progress(f"scoring {len(frame):,} spells on {address}")
            probabilities = partitioned_probabilities(frame, Scorer(models), address)
        result = evaluate_models(
            frame, models, cfg, out_dir, period.value, probabilities, progress=progress
        )
        out.print(result.scope, highlight=False, markup=False, soft_wrap=True)
        for name, ev in result.evaluations.items():
            out.print(
                f"{name}: n={ev.overall.n:,} AUROC {ev.overall.auroc:.3f} "
                f"calibration error {ev.overall.calibration_error:.3f}"
            )
        for p in result.paths:
            out.print(f"wrote {p}")
