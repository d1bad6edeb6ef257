"""Rendering of the bed forecast's printable page (A4 landscape), in the risk list's style."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.printable import page_environment

if TYPE_CHECKING:
    from models.forecast import Forecast


def forecast_footer(result: Forecast) -> str:
    """The line printed at the foot of every page (beside "Page n of N")."""
    made = result.generated_at.strftime("%-d %b %Y %H:%M")
    return (
        f"Bed forecast · list date {result.list_date.strftime('%-d %B %Y')} · made {made} UTC · "
        f"{result.provider} · decision support only"
    )


def render_forecast(result: Forecast) -> str:
    """The printable forecast for a bed manager or discharge team."""
    return (
        page_environment()
        .get_template("forecast.html.j2")
        .render(result=result, page_footer=forecast_footer(result))
    )
