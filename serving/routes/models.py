"""`GET /v1/models`: the versions being served and what they were trained on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from models.stay_model import stay_description
from serving.deps import QueryGuard, Services, current_models, get_services, require_api_key
from serving.holder import ModelSet
from serving.schemas import ModelsOut

router = APIRouter(
    prefix="/v1", tags=["models"], dependencies=[Depends(require_api_key), Depends(QueryGuard())]
)


@router.get("/models", response_model=ModelsOut, summary="Models being served")
def list_models(
    models: ModelSet = Depends(current_models), services: Services = Depends(get_services)
) -> dict[str, Any]:
    """Name, version, alias, training data window, threshold (the stay distribution model has
    none: its horizon and interval coverage instead) and test metrics of each model,
    the decision a person recorded on it (`los promote`; None when its gates promoted it), any
    newer `champion` version that could not be loaded (the old one is still served), and the
    targets without a champion with why (`unavailable`)."""
    decisions = models.status.decisions
    out = []
    for target, loaded in models.scorer.models.items():
        meta = loaded.bundle.metadata
        identity = loaded.identity
        # the stay distribution has no flag: no threshold or band, its horizon and coverage
        stay = stay_description(loaded.bundle) if loaded is models.scorer.stay else None
        flag = stay is None
        out.append(
            {
                "target": target,
                **identity.to_dict(),
                "run_id": identity.run_id,
                "description": meta.get("description"),
                "data_window": meta.get("data_window", {}),
                "kind": loaded.bundle.label_target.kind,
                "threshold": loaded.bundle.threshold if flag else None,
                "high_band_cut": loaded.bundle.high_cut if flag else None,
                "distribution": stay,
                "test_metrics": meta.get("test_metrics", {}),
                "training_metrics": meta.get("test_metrics", {}),  # same figures: see schemas
                "rows": meta.get("rows", {}),
                "decision": d.to_dict() if (d := decisions.get(target)) else None,
            }
        )
    errors = {name: f.to_dict() for name, f in dict(services.holder.load_errors).items()}
    loaded_at = models.loaded_at.isoformat(timespec="seconds")
    unavailable = {t: u.to_dict() for t, u in models.status.unavailable.items()}
    return {
        "loaded_at": loaded_at,
        "models": out,
        "load_errors": errors,
        "unavailable": unavailable,
    }
