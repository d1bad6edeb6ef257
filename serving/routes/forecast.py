"""`POST /v1/forecast`: the ward bed forecast of the posted spells, as `los forecast` makes it."""

from __future__ import annotations

import asyncio
from typing import Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from los.errors import TooLargeError
from los.targets import STAY_DISTRIBUTION
from models.forecast import forecast_spells
from models.forecast_render import render_forecast
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.holder import ModelSet
from serving.list_date import check_list_date
from serving.request_rows import rows_to_columns
from serving.responses import in_format
from serving.schemas import ForecastRequest

router = APIRouter(
    prefix="/v1",
    tags=["forecast"],
    # ready when the models are (503 before, as every /v1 operation)
    dependencies=[Depends(require_api_key), Depends(QueryGuard("format"))],
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
    models: ModelSet = Depends(current_models),
) -> Response:
    """Per site and ward and day ahead: the distribution of occupied beds and of NCTR bed-days
    from the posted current inpatients: each patient's curve from the served stay distribution
    model, else (said as `provider_reason`) Kaplan-Meier curves learnt from the posted ended
    spells."""
    limit = services.settings.los_max_batch
    if len(request.admissions) > limit:
        n = len(request.admissions)
        raise TooLargeError(f"{n} rows is above the limit of {limit}")
    check_list_date(request.admissions, request.date, request.allow_after_data)  # as the CLI
    # contract fields checked by the request model; the champions' extra inputs here
    rows = models.inputs.rows(request.admissions, ("body", "admissions"), indexed=True)

    def build(models: ModelSet) -> Response:
        frame = pd.DataFrame(rows_to_columns(rows, models.scorer.extra_inputs))
        gap = models.status.unavailable.get(STAY_DISTRIBUTION)
        result = forecast_spells(
            frame,
            models.scorer,
            gap.line if gap is not None else None,
            on=request.date,
            days=request.days,
            at_least=tuple(request.at_least),
            site=request.site,
            unknown_site_is_error=False,  # as the risk list: an empty forecast whose notes say so
        )
        return in_format(result, format, render_forecast)

    # on the scoring thread (the stay curves are LightGBM predictions), off the event loop
    response: Response = await asyncio.wrap_future(services.worker.submit_call(build))
    return response
