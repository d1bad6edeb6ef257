"""`create_app`: the FastAPI application; its lifespan starts the model poller, scorer and audit.

Importing this module does nothing: parts are built in `create_app` and started in the lifespan
(models load on a background thread, so `/health` answers at once and `/ready` says when the
models are in). Product errors map to HTTP codes in one handler (`serving.errors`).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from los.config import Settings
from serving.access_log import install_access_log_filter
from serving.audit import AuditWriter
from serving.auth import api_key_policy
from serving.deps import Services
from serving.errors import install_error_handlers
from serving.holder import ModelHolder
from serving.inputs import describe_champion_inputs
from serving.metrics import ServiceMetrics
from serving.routes import forecast, health, models, risk_list, score
from serving.worker import ScoringWorker

log = logging.getLogger(__name__)

DRAIN_LIMIT = 64 * 1024 * 1024  # an oversized body is read and discarded up to this, then cut


class RequestGuard:
    """Pure ASGI middleware: body size limit (413), metrics, and a 500 that logs no values.

    Every response carries `Server-Timing: app;dur=<ms>`, the time from the request reaching the
    app to its response starting: what the service itself spends, without the network or client.

    Unhandled exceptions are caught here so the server never logs their messages, which could
    quote request values; only the exception type and the code location are logged.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                spent = b"app;dur=%.2f" % ((time.perf_counter() - start) * 1000)
                headers = [*message.get("headers", []), (b"server-timing", spent)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            replay = await self._read_limited(scope, receive)
            if replay is None:
                detail = f"request body above the limit of {self.max_body} bytes"
                await _send_json(send_tracked, 413, {"detail": detail})
            else:
                await self.app(scope, replay, send_tracked)
        except Exception as exc:
            where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
            log.error("unhandled %s on %s\n%s", type(exc).__name__, _route(scope), where)
            if not state["started"]:
                await _send_json(send_tracked, 500, {"detail": "internal error"})
        finally:
            route, method = _route(scope), scope.get("method", "")
            self.metrics.requests.labels(method, route, str(state["status"])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)

    async def _read_limited(self, scope: Scope, receive: Receive) -> Receive | None:
        """None when the body is too large; else a `receive` that replays what was read."""
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) <= self.max_body:
                return receive
            await _drain(receive, DRAIN_LIMIT)
            return None
        if scope.get("method") in ("GET", "HEAD"):
            return receive
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body:
                if more:  # the last chunk crossed the limit: nothing left to drain (it would hang)
                    await _drain(receive, DRAIN_LIMIT)
                return None
            chunks.append(chunk)
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


async def _drain(receive: Receive, limit: int) -> None:
    read, more = 0, True
    while more and read < limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        more = message.get("more_body", False)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:

    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def build_services(settings: Settings) -> Services:
    """The service's parts, not started; `ConfigError` when the API-key settings are unclear."""
    auth = api_key_policy(settings)  # before anything is built: a bad key setting stops here
    metrics = ServiceMetrics()
    holder = ModelHolder(settings, metrics)
    audit = AuditWriter(settings.audit_url, metrics)
    worker = ScoringWorker(
        current=lambda: holder.current,
        history=lambda: holder.history,
        on_scored=lambda ids, scores: audit.record_scores(
            ids, [(s.identity, s.probability, s.flagged) for s in scores.values()]
        ),
        metrics=metrics,
    )
    return Services(settings, metrics, holder, worker, audit, auth)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The HTTP service (CONTRACT §5). Nothing starts until the ASGI lifespan runs.

    Raises `ConfigError` (one line) when the API-key settings are blank, malformed or absent
    without `LOS_ALLOW_NO_KEYS=1` (`serving.auth`): `los serve` then exits 1 before listening.
    """
    settings = settings or Settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_access_log_filter()  # after the server has set its logging up
        if not services.auth.keys:
            log.warning(
                "API keys are disabled (LOS_ALLOW_NO_KEYS=1): every endpoint is open to anyone "
                "who can reach this address"
            )
        services.audit.start()
        services.worker.start()
        services.holder.start()
        try:
            yield
        finally:
            services.holder.stop()
            services.worker.stop()
            services.audit.stop()

    # `/docs` and `/redoc` load Swagger UI and ReDoc from files shipped in fastapi-offline, not
    # from a CDN: a hospital network often cannot reach one. No key needed, as `/openapi.json`.
    app = FastAPIOffline(
        title="los-nwl scoring service",
        summary="Long-stay and NCTR risk at admission, with reasons, for NHS discharge teams.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)  # product errors, 422 without values, documented error codes
    describe_champion_inputs(app, services.holder)  # OpenAPI lists the champions' extra inputs
    app.add_middleware(RequestGuard, metrics=services.metrics, max_body=settings.los_max_body_bytes)
    for module in (health, models, score, risk_list, forecast):
        app.include_router(module.router)
    return app
