"""Operations: liveness (`/health`), readiness (`/ready`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from serving.deps import Services, get_services, require_api_key

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is alive")
def health() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Models are loaded",
    responses={503: {"description": "not ready yet: models (or history) not loaded"}},
)
def ready(services: Services = Depends(get_services)) -> JSONResponse:
    """200 with the served versions once loaded; 503 before, with the reason in one line.

    `reason`: why not ready (None when ready). `registry_error`: the last registry check's
    failure. `load_errors`: per registered model, a champion version that could not be loaded
    (the model keeps serving the version in `models`). `unavailable`: per target without a
    champion, why in one line (e.g. "NCTR model awaiting review: no champion (...)"); the
    service is ready when at least one target has one. `audit`: `failing` while audit rows are
    being lost (see the audit failure policy). `auth`: `api-key`, or `disabled` when the service
    was started with `LOS_ALLOW_NO_KEYS=1`. `worker`: the id of the process that answered (with
    `los serve --workers N` each worker loads and follows the champions itself).
    """
    holder = services.holder
    body: dict[str, Any] = {
        "ready": holder.ready,
        "reason": holder.not_ready_reason,
        "models": holder.current.versions if holder.current else {},
        "load_errors": {name: f.to_dict() for name, f in dict(holder.load_errors).items()},
        "unavailable": dict(holder.unavailable),
        "audit": "ok" if services.audit.healthy else "failing",
        "auth": services.auth.mode,
        "last_check": holder.last_check.isoformat() if holder.last_check else None,
        "registry_error": holder.last_error,
        "worker": os.getpid(),
    }
    return JSONResponse(body, status_code=200 if holder.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(require_api_key)],
    response_class=Response,
)
def metrics(services: Services = Depends(get_services)) -> Response:
    """Request counts, latency histogram, scores per model version, reloads, audit counts."""
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4")
