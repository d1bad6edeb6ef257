"""`POST /v1/risk-list`: the ranked daily list of current inpatients, as `los risk-list` does."""

from __future__ import annotations

import asyncio
from typing import Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from los.errors import TooLargeError
from models.list_render import render_risk_list
from models.review_cut import ReviewCut
from models.risk_list import RiskList, build_risk_list
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.holder import ModelSet
from serving.list_date import check_list_date
from serving.request_rows import rows_to_columns, with_request_history
from serving.responses import in_format
from serving.schemas import RiskListRequest

router = APIRouter(
    prefix="/v1",
    tags=["risk list"],
    dependencies=[
        Depends(require_api_key),
        Depends(QueryGuard("format")),
        Depends(current_models),
    ],
)


@router.post(
    "/risk-list",
    summary="The daily ranked list of current inpatients",
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
async def risk_list(
    request: RiskListRequest,
    format: Literal["json", "csv", "html"] = Query("json", description="json, csv or html"),
    services: Services = Depends(get_services),
    models: ModelSet = Depends(current_models),
) -> Response:
    """Patients without a discharge, ranked by combined risk, flagged within `capacity` (else the
    configured capacity per ward, else the top 10%: `models.review_cut`, as `los risk-list`)."""
    limit = services.settings.los_max_batch
    if len(request.admissions) > limit:
        n = len(request.admissions)
        raise TooLargeError(f"census of {n} rows is above the limit of {limit}")
    check_list_date(request.admissions, request.date, request.allow_after_data)  # as the CLI
    # contract fields checked by the request model; the champions' extra inputs here
    rows = models.inputs.rows(request.admissions, ("body", "admissions"), indexed=True)

    def build(models: ModelSet) -> Response:
        extras = models.scorer.extra_inputs
        columns = rows_to_columns(rows, extras)
        columns = with_request_history(columns, rows, services.holder.history)
        frame = pd.DataFrame(columns)
        # a site absent from the posted census gives an empty list whose notes say so (the
        # schema allows any site, so a valid request is not refused; the CLI refuses a typo)
        result = build_risk_list(
            models.scorer,
            frame,
            on=request.date,
            site=request.site,
            capacity=request.capacity,
            unknown_site_is_error=False,
            unavailable=models.status.lines,  # targets without a champion, said at the top
            cut=ReviewCut.choose(request.capacity, services.settings),  # as `los risk-list`
        )
        _audit(services, result)
        return in_format(result, format, render_risk_list)  # on the scoring thread

    response: Response = await asyncio.wrap_future(services.worker.submit_call(build))
    return response


def _audit(services: Services, result: RiskList) -> None:
    """Every score is audited, including those on a risk list."""
    if result.rows:
        spell_ids = [r.spell_id for r in result.rows]
        services.audit.record_scores(
            spell_ids,
            [
                (
                    identity,
                    np.array([r.probabilities[t] for r in result.rows]),
                    np.array([r.model_flags[t] for r in result.rows]),
                )
                for t, identity in result.models.items()
            ],
        )
