"""Dependencies the routes receive: the service's parts, the API-key check, the loaded models.

All `async def`: they do no I/O, and FastAPI runs a plain `def` dependency on its thread pool,
a thread hop per dependency per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader

from los.config import Settings
from los.errors import AuthError, NotReadyError
from serving.audit import AuditWriter
from serving.auth import AuthPolicy
from serving.holder import ModelHolder, ModelSet
from serving.metrics import ServiceMetrics
from serving.worker import ScoringWorker

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
# A query parameter's name is echoed in a 422 only when it looks like a name, not like data.
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")


@dataclass
class Services:
    """The parts of one running service, built by `create_app` and started by its lifespan."""

    settings: Settings
    metrics: ServiceMetrics
    holder: ModelHolder
    worker: ScoringWorker
    audit: AuditWriter
    auth: AuthPolicy


def services_of(request: Request) -> Services:
    """The running service's parts, as the app holds them."""
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    """The running service's parts, as a route dependency."""
    return services_of(request)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def key_matches(given: str | None, keys: Sequence[str]) -> bool:
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


async def require_api_key(request: Request, key: str | None = Security(_api_key)) -> None:
    """401 unless a configured key is sent in `X-API-Key` (open only when `LOS_ALLOW_NO_KEYS=1`
    chose to run without keys: `serving.auth`).

    The service's parts are read from `request` rather than through `Depends(get_services)`:
    every node of a route's dependency tree costs FastAPI a cache-key computation on each
    request, and this check sits on every route."""
    keys = services_of(request).auth.keys
    if keys and not key_matches(key, keys):
        raise AuthError()


async def current_models(request: Request) -> ModelSet:
    """The model set serving now; 503 until one is loaded (the service's parts read from
    `request`, as `require_api_key` does)."""
    holder = services_of(request).holder
    models = holder.current
    if models is None or not holder.ready:
        raise NotReadyError()
    return models


class QueryGuard:
    """Dependency: 422 for a query parameter the operation does not take.

    `POST /v1/score?nhs_number=...` would otherwise be answered as if the parameter were not
    there (and a key sent as `?api_key=` silently ignored). The error names the parameter, never
    its value; a name that does not look like one (e.g. digits) is not echoed either. A request
    without a query string costs one dictionary look-up.
    """

    def __init__(self, *allowed: str) -> None:
        self.allowed = frozenset(allowed)

    async def __call__(self, request: Request) -> None:
        if not request.scope.get("query_string"):
            return
        unknown = [name for name in dict.fromkeys(request.query_params) if name not in self.allowed]
        if not unknown:
            return
        takes = ", ".join(sorted(self.allowed)) or "none"
        errors = []
        for name in unknown[:10]:
            shown = _PARAMETER_NAME.fullmatch(name) is not None
            errors.append(
                {
                    "loc": ("query", name) if shown else ("query",),
                    "msg": f"unknown query parameter{'' if shown else ' (name not shown)'}; "
                    f"this operation takes: {takes}",
                    "type": "extra_forbidden",
                }
            )
        raise RequestValidationError(errors)
