"""`los monitor`: drift, estimated and realised performance per target and segment, with alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import loading, params
from cli.console import out, progress, reporting_errors
from cli.options import ConfigOpt, DataOpt, MappingOpt, ModelOpt, QueryOpt, ReportDirOpt


def monitor(
    data: DataOpt,
    out_dir: ReportDirOpt,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            parser=params.source,
            metavar="SOURCE",
            help="reference spells (default: the rows of --data in the models' test period; "
            "recent: the rows after it)",
        ),
    ] = None,
    model: ModelOpt = "champion",
    config: ConfigOpt = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Compare recent admissions with a reference, per target and segment: write monitor.json
    and monitor.html with drift, estimated and realised performance, and alerts."""
    with reporting_errors():
        loading.check_source(data, query)
        if reference is not None:
            loading.check_source(reference, None)
        from los.config import TrainingConfig
        from monitoring.assess import run_monitor
        from monitoring.report import write_monitor
        from monitoring.windows import split_windows

        cfg = TrainingConfig.from_file(config)
        settings, models, _ = loading.registered(model)
        quarantine = settings.los_data_dir / "quarantine"
        frame = loading.load(data, query, mapping, quarantine / "monitor.csv")
        ref = (
            loading.load(reference, None, mapping, quarantine / "reference.csv")
            if reference
            else None
        )
        ref_rows, recent = split_windows(frame, ref, models)
        result = run_monitor(ref_rows, recent, models, cfg, progress)
        for alert in result.document["alerts"]:
            out.print(f"alert {alert['target']} {alert['attribute']}={alert['group']} "
                      f"{alert['kind']}: {alert['detail']}", highlight=False, markup=False,
                      soft_wrap=True)  # fmt: skip
        out.print(f"{len(result.document['alerts'])} alerts")
        for p in write_monitor(result, out_dir):
            out.print(f"wrote {p}")
