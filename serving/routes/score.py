"""`POST /v1/score` (one admission) and `POST /v1/score/batch` (a list, same order)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from los.errors import TooLargeError
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.holder import ModelSet
from serving.schemas import Admission, ScoreOut

router = APIRouter(
    prefix="/v1",
    tags=["scoring"],
    dependencies=[Depends(require_api_key), Depends(QueryGuard()), Depends(current_models)],
)


async def _score(services: Services, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await asyncio.wrap_future(services.worker.submit_rows(rows))
    return result


@router.post("/score", response_model=ScoreOut, summary="Score one admission")
async def score_one(
    admission: Admission = Body(...),  # type: ignore[valid-type]
    services: Services = Depends(get_services),
    models: ModelSet = Depends(current_models),
) -> JSONResponse:
    """Probability, risk band, flag, threshold, top reasons and model version for each target.

    Fields the champions were trained with beyond the contract are required (`/openapi.json`
    lists them while such a champion is served)."""
    result = await _score(services, models.inputs.rows([admission], ("body",), indexed=False))
    return JSONResponse(result[0])


@router.post("/score/batch", response_model=list[ScoreOut], summary="Score a list of admissions")
async def score_batch(
    admissions: list[Admission] = Body(...),  # type: ignore[valid-type]
    services: Services = Depends(get_services),
    models: ModelSet = Depends(current_models),
) -> JSONResponse:
    """The same as `/v1/score` for each admission, in the same order."""
    limit = services.settings.los_max_batch
    if len(admissions) > limit:
        raise TooLargeError(f"batch of {len(admissions)} admissions is above the limit of {limit}")
    if not admissions:
        return JSONResponse([])
    rows = models.inputs.rows(admissions, ("body",), indexed=True)
    return JSONResponse(await _score(services, rows))
