"""`POST /v1/risk-list`: the ranked daily list of current inpatients, as `los risk-list` does."""

from __future__ import annotations

import asyncio
from typing import Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from models.risk_list import RiskList, build_risk_list
from models.templates.render import render_risk_list
from serving.batcher import rows_to_columns, with_request_history
from serving.deps import Services, current_models, get_services, require_api_key
from serving.errors import TooLargeError
from serving.holder import ModelSet
from serving.schemas import RiskListRequest, admission_row

router = APIRouter(
    prefix="/v1",
    tags=["risk list"],
    dependencies=[Depends(require_api_key), Depends(current_models)],
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
) -> Response:
    """Patients without a discharge, ranked by combined risk, flagged within `capacity`."""
    limit = services.settings.los_max_batch
    if len(request.admissions) > limit:
        n = len(request.admissions)
        raise TooLargeError(f"census of {n} rows is above the limit of {limit}")
    rows = [admission_row(a) for a in request.admissions]

    def build(models: ModelSet) -> Response:
        columns = with_request_history(rows_to_columns(rows), rows, services.holder.history)
        frame = pd.DataFrame(columns)
        result = build_risk_list(
            models.scorer, frame, on=request.date, site=request.site, capacity=request.capacity
        )
        _audit(services, result)
        return _render(result, format)

    response: Response = await asyncio.wrap_future(services.worker.submit_call(build))
    return response


def _render(result: RiskList, format: str) -> Response:
    """The list in the asked format (rendered on the scoring thread, off the event loop)."""
    if format == "html":
        return HTMLResponse(render_risk_list(result))
    if format == "csv":
        return Response(result.to_frame().to_csv(index=False), media_type="text/csv")
    return JSONResponse(result.to_dict())


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
