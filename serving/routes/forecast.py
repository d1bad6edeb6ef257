"""`POST /v1/forecast`: the ward bed forecast of the posted spells, as `los forecast` makes it."""

from __future__ import annotations

import asyncio
from typing import Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from los.errors import TooLargeError
from models.forecast import Forecast, baseline_forecast
from models.forecast_render import render_forecast
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.inputs import RequestInputs
from serving.request_rows import rows_to_columns
from serving.schemas import ForecastRequest

router = APIRouter(
    prefix="/v1",
    tags=["forecast"],
    # ready when the models are (503 before, as every /v1 operation): the stay distribution
    # model, once served, replaces the Kaplan-Meier baseline here
    dependencies=[
        Depends(require_api_key),
        Depends(QueryGuard("format")),
        Depends(current_models),
    ],
)


@router.post(
    "/forecast",
    summary="Beds still occupied, and held while waiting (NCTR), per ward for the next days",
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
async def forecast(
    request: ForecastRequest,
    format: Literal["json", "csv", "html"] = Query("json", description="json, csv or html"),
    services: Services = Depends(get_services),
) -> Response:
    """Per site and ward and day ahead: the distribution of occupied beds and of NCTR bed-days
    from the posted current inpatients; stay curves learnt from the posted ended spells."""
    limit = services.settings.los_max_batch
    if len(request.admissions) > limit:
        n = len(request.admissions)
        raise TooLargeError(f"{n} rows is above the limit of {limit}")
    # contract fields checked by the request model; any other field is refused here
    rows = RequestInputs((), None).rows(request.admissions, ("body", "admissions"), indexed=True)

    def build() -> Response:
        frame = pd.DataFrame(rows_to_columns(rows))
        result = baseline_forecast(
            frame,
            on=request.date,
            days=request.days,
            at_least=tuple(request.at_least),
            site=request.site,
            unknown_site_is_error=False,  # as the risk list: an empty forecast whose notes say so
        )
        return _render(result, format)

    return await asyncio.to_thread(build)


def _render(result: Forecast, format: str) -> Response:
    if format == "html":
        return HTMLResponse(render_forecast(result))
    if format == "csv":
        return Response(result.to_csv(), media_type="text/csv")  # formula-like cells defused
    return JSONResponse(result.to_dict())
