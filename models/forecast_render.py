"""Rendering of the bed forecast's printable page (A4 landscape), in the risk list's style."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape

from models.list_render import css_string

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

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = lambda p: f"{100 * p:.0f}%"
    env.filters["css_string"] = css_string
    return env.get_template("forecast.html.j2").render(
        result=result, page_footer=forecast_footer(result)
    )
