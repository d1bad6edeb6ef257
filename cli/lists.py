"""`los risk-list` and `los forecast`: what a ward team reads each morning, from a census.

Both take the same census block (`--data`, `--out`, `--date`, `--allow-future-date`, `--site`,
`--history`, `--query`, `--mapping`; the shared ones from `cli.options`) and load it the same way
(`_census`, which also refuses a list date after the data).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import loading, params
from cli.console import out, progress, reporting_errors
from cli.options import (
    AllowFutureOpt,
    DataOpt,
    ListDateOpt,
    ListOutOpt,
    MappingOpt,
    QueryOpt,
    SiteOpt,
)


def _census(data: str, query: str | None, mapping: Path | None, history: str | None,
            on: date | None, allow_future: bool) -> tuple[Any, Any]:  # fmt: skip
    """The census rows and the earlier spells (None without `--history`).

    The sources' form is checked first, before anything heavy is imported; a list date after the
    census's latest admission date is refused (a usage error, exit 2) unless it is asked for,
    before any model loads: a typo fails at once."""
    loading.check_source(data, query)
    if history is not None:
        loading.check_source(history, None)
    from models.census import date_after_data

    quarantine = loading.settings().los_data_dir / "quarantine" / "census.csv"
    frame = loading.load(data, query, mapping, quarantine)
    if not allow_future:
        why = date_after_data(frame, on, datetime.now(UTC).date(), override="--allow-future-date")
        if why is not None:
            raise typer.BadParameter(why, param_hint="'--date'")
    hist = loading.load(history, None, mapping, None) if history else None
    return frame, hist


def risk_list(
    data: DataOpt,
    out_path: ListOutOpt,
    on: ListDateOpt = None,
    allow_future: AllowFutureOpt = False,
    site: SiteOpt = None,
    capacity: Annotated[
        int | None,
        typer.Option(
            "--capacity",
            min=0,
            metavar="N",
            help="patients the team can review today (default: LOS_REVIEW_CAPACITY_PER_WARD "
            "per ward, else the top 10%)",
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            parser=params.source,
            metavar="SOURCE",
            help="source of earlier spells for history",
        ),
    ] = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """The daily ranked list of current inpatients, with reasons."""
    with reporting_errors():
        frame, hist = _census(data, query, mapping, history, on, allow_future)
        from models.review_cut import ReviewCut
        from models.risk_list import build_risk_list, write_risk_list
        from models.scorer import Scorer

        settings, models, missing = loading.registered("champion")
        scorer = Scorer(models)
        cut = ReviewCut.choose(capacity, settings)  # given, else configured, else the top 10%
        result = build_risk_list(scorer, frame, on=on, site=site, capacity=capacity,
                                 history=hist, unavailable=missing, cut=cut,
                                 progress=progress)  # fmt: skip
        out.print(result.list_date_text, highlight=False, markup=False, soft_wrap=True)
        out.print(f"review: {cut.text}", highlight=False, markup=False, soft_wrap=True)
        for note in result.notes:
            out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
        write_risk_list(result, out_path)
        out.print(f"wrote risk list of {len(result.rows):,} inpatients to {out_path}")


def forecast(
    data: DataOpt,
    out_path: ListOutOpt,
    on: ListDateOpt = None,
    allow_future: AllowFutureOpt = False,
    days: Annotated[
        int, typer.Option("--days", min=1, max=60, metavar="N", help="days ahead (default 7)")
    ] = 7,
    at_least: Annotated[
        list[int] | None,
        typer.Option(
            "--at-least", min=0, metavar="N", help="also give P(at least N beds); repeatable"
        ),
    ] = None,
    site: SiteOpt = None,
    history: Annotated[
        str | None,
        typer.Option("--history", parser=params.source, metavar="SOURCE", help="more ended spells"),
    ] = None,
    query: QueryOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Beds still occupied, and held while waiting (NCTR), per ward for the next days."""
    with reporting_errors():
        frame, hist = _census(data, query, mapping, history, on, allow_future)
        from models.forecast import forecast_spells, write_forecast
        from models.stay_provider import forecast_models

        scorer, why = forecast_models(loading.settings())  # the stay champion, else why not
        result = forecast_spells(frame, scorer, why, on=on, days=days,
                                 at_least=tuple(at_least or ()), site=site,
                                 history=hist)  # fmt: skip
        out.print(f"estimates from: {result.provider_text}", highlight=False, markup=False,
                  soft_wrap=True)  # fmt: skip
        out.print(f"list date {result.list_date.isoformat()}: {result.list_date_rule}",
                  highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        for note in result.notes:
            out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
        write_forecast(result, out_path)
        out.print(f"wrote forecast for {len(result.wards):,} wards, {days} days to {out_path}")
