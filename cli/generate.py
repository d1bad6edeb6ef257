"""`los generate`: synthetic North West London admissions, optionally with a planted change."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli import params
from cli.console import out, progress, reporting_errors
from cli.options import TABLE_HELP, TABLE_OUT


class Scenario(StrEnum):
    """Planted changes `los generate` can make (`features.synthetic.scenarios`)."""

    none = "none"
    site_capacity_shock = "site-capacity-shock"
    coding_change = "coding-change"


def generate(
    rows: Annotated[
        int, typer.Option("--rows", min=1, metavar="N", help="number of spells")
    ] = 200_000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, metavar="N", help="random seed (same seed, same data)")
    ] = 42,
    out_path: Annotated[
        Path, typer.Option("--out", parser=TABLE_OUT, metavar="PATH", help=TABLE_HELP)
    ] = Path("data/admissions.parquet"),
    truth_out: Annotated[
        Path | None,
        typer.Option(
            "--truth-out",
            parser=TABLE_OUT,
            metavar="PATH",
            help="true probabilities per spell, .csv or .parquet",
        ),
    ] = None,
    scenario: Annotated[
        Scenario, typer.Option("--scenario", help="a planted change, for testing the monitor")
    ] = Scenario.none,
    scenario_start: Annotated[
        date | None,
        typer.Option(
            "--scenario-start",
            parser=params.list_date,
            metavar="YYYY-MM-DD",
            help="first admission date the scenario touches (default: 3/4 through the window)",
        ),
    ] = None,
    scenario_site: Annotated[
        str | None,
        typer.Option(
            "--scenario-site", metavar="CODE", help="the site it touches (default: drawn)"
        ),
    ] = None,
) -> None:
    """Generate realistic synthetic North West London admissions."""
    if scenario is Scenario.none and (scenario_start or scenario_site):
        given = "--scenario-start" if scenario_start else "--scenario-site"
        raise typer.BadParameter(
            "given without --scenario: no change would be planted", param_hint=f"'{given}'"
        )
    with reporting_errors():
        from features.generate import generate_admissions
        from features.load import write_frame

        progress(f"generating {rows:,} spells (seed {seed})")
        try:
            data = generate_admissions(
                rows, seed, scenario=scenario.value, scenario_site=scenario_site,
                scenario_start=scenario_start.isoformat() if scenario_start else None,
            )  # fmt: skip
        except ValueError as exc:
            raise typer.BadParameter(
                str(exc), param_hint="'--scenario-start/--scenario-site'"
            ) from None
        if data.scenario.name != "none":
            out.print(f"scenario {data.scenario.name} at site {data.scenario.site} from "
                      f"{data.scenario.start:%Y-%m-%d}")  # fmt: skip
        write_frame(data.admissions, out_path)
        out.print(f"wrote {len(data.admissions):,} admissions to {out_path}")
        if truth_out is not None:
            write_frame(data.truth, truth_out)
            out.print(f"wrote true probabilities to {truth_out}")
