"""Dependencies the routes receive: the service's parts, the API-key check, the loaded models.

All `async def`: they do no I/O, and FastAPI runs a plain `def` dependency on its thread pool,
a thread hop per dependency per request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from los.config import Settings
from serving.audit import AuditWriter
from serving.batcher import ScoringWorker
from serving.errors import AuthError, NotReadyError
from serving.holder import ModelHolder, ModelSet
from serving.metrics import ServiceMetrics

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


@dataclass
class Services:
    """The parts of one running service, built by `create_app` and started by its lifespan."""

    settings: Settings
    metrics: ServiceMetrics
    holder: ModelHolder
    worker: ScoringWorker
    audit: AuditWriter


async def get_services(request: Request) -> Services:
    """The running service's parts (tests may override this dependency)."""
    services: Services = request.app.state.services
    return services


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def key_matches(given: str | None, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit).

    Both sides are hashed first, so `hmac.compare_digest` always compares 32 bytes and the time
    taken does not reveal a key's length either.
    """
    if given is None:
        return False
    supplied = _digest(given)
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(supplied, _digest(key))
    return matched


async def require_api_key(
    key: str | None = Security(_api_key), services: Services = Depends(get_services)
) -> None:
    """401 unless a configured key is sent in `X-API-Key` (no keys configured: open)."""
    keys = services.settings.api_keys
    if keys and not key_matches(key, keys):
        raise AuthError()


async def current_models(services: Services = Depends(get_services)) -> ModelSet:
    """The model set serving now; 503 until one is loaded."""
    models = services.holder.current
    if models is None or not services.holder.ready:
        raise NotReadyError()
    return models
