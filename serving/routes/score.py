"""`POST /v1/score` (one admission) and `POST /v1/score/batch` (a list, same order).

Reasons cost exact tree SHAP, tens of times a plain prediction. `/v1/score` gives every target's
reasons (a person is reading that one admission). `/v1/score/batch` gives them, by default, only
where a target flags the row (`?reasons=flagged`): those are the rows a discharge team acts on,
and a batch is typically a ward or a feed where most rows are not flagged; the other rows get an
empty `reasons` list (their probability, band and flag are the same either way).
`?reasons=all` explains every row, as `/v1/score` does.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query

from los.errors import TooLargeError
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.holder import ModelSet
from serving.responses import ScoreResponse
from serving.schemas import Admission, ScoreOut
from serving.worker import ReasonsFor

router = APIRouter(prefix="/v1", tags=["scoring"], dependencies=[Depends(require_api_key)])


async def _score(
    services: Services, rows: list[dict[str, Any]], reasons_for: ReasonsFor = "all"
) -> list[dict[str, Any]]:
    return await services.worker.submit_rows_async(rows, reasons_for)


@router.post(
    "/score",
    response_model=ScoreOut,
    summary="Score one admission",
    dependencies=[Depends(QueryGuard())],
)
async def score_one(
    admission: Admission = Body(...),  # type: ignore[valid-type]
    services: Services = Depends(get_services),
    models: ModelSet = Depends(current_models),
) -> ScoreResponse:
    """Probability, risk band, flag, threshold, top reasons and model version for each target.

    Fields the champions were trained with beyond the contract are required (`/openapi.json`
    lists them while such a champion is served)."""
    result = await _score(services, models.inputs.rows([admission], ("body",), indexed=False))
    return ScoreResponse(result[0])


@router.post(
    "/score/batch",
    response_model=list[ScoreOut],
    summary="Score a list of admissions",
    dependencies=[Depends(QueryGuard("reasons"))],
)
async def score_batch(
    admissions: list[Admission] = Body(...),  # type: ignore[valid-type]
    reasons: Literal["flagged", "all"] = Query(
        "flagged",
        description="which rows get reasons: `flagged` (default: a target's reasons only where "
        "it flags the row; the others get an empty list) or `all` (every row, as /v1/score)",
    ),
    services: Services = Depends(get_services),
    models: ModelSet = Depends(current_models),
) -> ScoreResponse:
    """The same as `/v1/score` for each admission, in the same order; reasons for the flagged
    targets of each row unless `?reasons=all` (module doc)."""
    limit = services.settings.los_max_batch
    if len(admissions) > limit:
        raise TooLargeError(f"batch of {len(admissions)} admissions is above the limit of {limit}")
    if not admissions:
        return ScoreResponse([])
    rows = models.inputs.rows(admissions, ("body",), indexed=True)
    return ScoreResponse(await _score(services, rows, reasons))
