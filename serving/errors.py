"""The service's error handlers; each product error's status is stated by its class (`los.errors`).

`install_error_handlers(app)` registers the two error handlers and documents the error responses
in OpenAPI:

- product errors (`LosError`) -> their status code with `{"detail": "<one line>"}`;
- request validation errors -> 422 with `{"detail": [{"loc", "msg", "type"}]}`: the field and the
  problem, never the submitted value (pydantic's `input` and `ctx` are dropped: the value of
  `patient_id` or a date must not come back in an error body, nor reach a log that records it);
- every route's OpenAPI lists the errors it can answer with (401 with a key; 400, 413 and 422
  with a body; 422 for a query parameter a `/v1` operation does not take; 503 while models
  load), so a schema-driven client or fuzzer finds no undocumented status code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from los.errors import LosError

# Keys of a pydantic/FastAPI error kept in a 422 body. Dropped: `input` (the submitted value, e.g.
# a patient_id or a date of birth), `ctx` (may hold the value or the exception raised on it) and
# `url`. Messages come from pydantic's templates or our validators, which name the rule, not the
# value (see `serving.schemas`).
_KEPT_ERROR_KEYS = ("loc", "msg", "type")


def safe_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors reduced to where and what: `loc`, `msg`, `type`; never the value."""
    out: list[dict[str, Any]] = []
    for error in errors:
        item = {k: error[k] for k in _KEPT_ERROR_KEYS if k in error}
        item["loc"] = [p if isinstance(p, int) else str(p) for p in item.get("loc", ())]
        ctx = error.get("ctx") or {}
        if item.get("type") == "json_invalid" and isinstance(ctx.get("error"), str):
            item["msg"] = f"{item.get('msg', 'JSON decode error')}: {ctx['error']}"
        item.setdefault("msg", "invalid value")
        item.setdefault("type", "value_error")
        out.append(item)
    return out


async def validation_error_response(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field and the problem, without echoing what was sent.

    A body refused for its contract fields also lists its unknown fields
    (`serving.inputs.unknown_field_errors`: the admission models keep those aside for the check
    against the served champions' inputs, which then does not run).
    """
    from serving.inputs import unknown_field_errors  # inputs imports schemas, which is heavier

    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    route = getattr(request.scope.get("route"), "path", "")
    current = request.app.state.services.holder.current
    extras = current.scorer.extra_inputs if current is not None else ()
    seen = {(tuple(e.get("loc", ())), e.get("type")) for e in errors}
    for error in unknown_field_errors(route, getattr(exc, "body", None), extras):
        if (error["loc"], error["type"]) not in seen:
            errors.append(error)
    return JSONResponse({"detail": safe_validation_errors(errors)}, status_code=422)


async def los_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Product errors -> the status their class states (`los.errors`) with a one-line message
    (503 with `Retry-After`)."""
    assert isinstance(exc, LosError)
    code = exc.http_status
    headers = {"Retry-After": "5"} if code == 503 else None
    return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)


ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorOut",
    "type": "object",
    "description": "A product error: one line, no request values.",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}

_ERROR_DESCRIPTIONS = {
    "400": "the body cannot be read as JSON text (e.g. not UTF-8)",
    "401": "missing or wrong API key (`X-API-Key`)",
    "413": "request body or row count above the configured limit",
    "422": "invalid input, or a query parameter the operation does not take: each error "
    "names the field (`loc`) and the problem (`msg`), never the value sent",
    "503": "models not loaded yet; retry after `Retry-After` seconds",
}


def _api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes with router-level dependencies merged in (FastAPI >= 0.160 keeps
    included routers as contexts; older versions copy routes into `app.routes`)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _error_codes(
    route: Any,
    needs_key: Callable[..., Any],
    needs_models: Callable[..., Any],
    query_guard: type,
) -> set[str]:
    """The error statuses a route can answer with, from its dependencies and body."""
    calls: list[Any] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        calls.append(dependant.call)
        stack.extend(dependant.dependencies)
    codes = set()
    if needs_key in calls:
        codes.add("401")
    if needs_models in calls:
        codes.add("503")
    if any(isinstance(call, query_guard) for call in calls):
        codes.add("422")  # an unknown query parameter
    if route.body_field is not None:
        codes |= {"400", "413", "422"}
    return codes


def document_error_responses(app: FastAPI) -> None:
    """Add the error responses each operation can give to the app's OpenAPI document."""
    from serving.deps import QueryGuard, current_models, require_api_key  # deps imports this

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ErrorOut", ERROR_SCHEMA)
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        for route in _api_routes(app):
            if not route.include_in_schema:
                continue
            codes = _error_codes(route, require_api_key, current_models, QueryGuard)
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for code in sorted(codes):
                    if code == "422" and "422" in responses:
                        # validation errors (a list) or a product data error (one line)
                        content = responses["422"].setdefault("content", {})
                        body = content.setdefault("application/json", {})
                        current = body.get("schema")
                        body["schema"] = {"anyOf": [current, error_ref]} if current else error_ref
                        continue
                    if code == "422" and "HTTPValidationError" in schemas:
                        # only an unknown query parameter: a validation error list
                        invalid = {"$ref": "#/components/schemas/HTTPValidationError"}
                        responses["422"] = {
                            "description": _ERROR_DESCRIPTIONS["422"],
                            "content": {"application/json": {"schema": invalid}},
                        }
                        continue
                    responses.setdefault(
                        code,
                        {
                            "description": _ERROR_DESCRIPTIONS[code],
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Register the product-error and validation-error handlers; document the error responses."""
    app.add_exception_handler(LosError, los_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    document_error_responses(app)
