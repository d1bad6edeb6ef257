"""`GET /v1/models`: the versions being served and what they were trained on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from serving.deps import current_models, require_api_key
from serving.holder import ModelSet
from serving.schemas import ModelsOut

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[Depends(require_api_key)])


@router.get("/models", response_model=ModelsOut, summary="Models being served")
def list_models(models: ModelSet = Depends(current_models)) -> dict[str, Any]:
    """Name, version, alias, training data window, threshold and test metrics of each model."""
    out = []
    for target, loaded in models.scorer.models.items():
        meta = loaded.bundle.metadata
        identity = loaded.identity
        out.append(
            {
                "target": target,
                **identity.to_dict(),
                "run_id": identity.run_id,
                "description": meta.get("description"),
                "data_window": meta.get("data_window", {}),
                "threshold": loaded.bundle.threshold,
                "high_band_cut": loaded.bundle.high_cut,
                "training_metrics": meta.get("test_metrics", {}),
                "rows": meta.get("rows", {}),
            }
        )
    return {"loaded_at": models.loaded_at.isoformat(timespec="seconds"), "models": out}
