"""Request rows checked against the served champions' own inputs, and the OpenAPI that says so.

`Admission` (serving/schemas.py) validates the contract's fields and keeps any other field aside.
`RequestInputs`, built with each model set, then types the champions' extra inputs (fields they
were trained with beyond the contract, `models.inputs`) and refuses everything else, with the
same 422 shape as FastAPI's (`loc` names the field, never the value). An extra input sent as
`null` is scored as missing and counted in `los_missing_inputs_total{field}`.

`describe_champion_inputs` makes `/openapi.json` list the extra inputs of the champions being
served (required properties of `Admission`, `CensusAdmission` and `ForecastAdmission`), rebuilt
when they change; before any model is loaded it shows the contract's fields only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from los.schema import LABEL_COLUMNS
from models.inputs import ExtraInput
from serving.metrics import ServiceMetrics
from serving.schemas import CensusAdmission, admission_row, extra_inputs_model

if TYPE_CHECKING:
    from serving.holder import ModelHolder

ADMISSION_SCHEMAS = ("Admission", "CensusAdmission", "ForecastAdmission")


class RequestInputs:
    """The extra inputs one model set needs, and the check every request row goes through."""

    def __init__(self, extras: tuple[ExtraInput, ...], metrics: ServiceMetrics | None) -> None:
        self.extras = extras
        self._model = extra_inputs_model(extras)
        self._metrics = metrics

    def rows(
        self, admissions: Sequence[BaseModel], where: tuple[str | int, ...], indexed: bool
    ) -> list[dict[str, Any]]:
        """The scorer's rows; `RequestValidationError` listing every bad or missing field.

        `where` prefixes each error's `loc` (e.g. `("body",)`); with `indexed` the row's
        position follows it, as FastAPI does for a list body.
        """
        rows: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i, admission in enumerate(admissions):
            row = admission_row(admission)
            given = admission.model_extra
            if given or self.extras:
                try:
                    row.update(self._model.model_validate(given or {}).__dict__)
                except ValidationError as exc:
                    at = (*where, i) if indexed else where
                    errors += [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
                    continue
            rows.append(row)
        if errors:
            raise RequestValidationError(errors)
        self._count_nulls(rows)
        return rows

    def _count_nulls(self, rows: list[dict[str, Any]]) -> None:
        if self._metrics is None:
            return
        for extra in self.extras:
            nulls = sum(1 for r in rows if r[extra.name] is None)
            if nulls:
                self._metrics.missing_inputs.labels(extra.name).inc(nulls)


# Where the admissions are in each body that carries them: `None` stands for "every item".
_ROWS_AT: dict[str, tuple[str | None, ...]] = {
    "/v1/score": (),
    "/v1/score/batch": (None,),
    "/v1/risk-list": ("admissions", None),
    "/v1/forecast": ("admissions", None),
}


def _rows_in(
    body: Any, path: tuple[str | None, ...], at: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(loc, row) for each admission object in a parsed JSON body."""
    if not path:
        if isinstance(body, dict):
            yield at, body
        return
    step, rest = path[0], path[1:]
    if step is None and isinstance(body, list):
        for i, item in enumerate(body):
            yield from _rows_in(item, rest, (*at, i))
    elif step is not None and isinstance(body, dict) and step in body:
        yield from _rows_in(body[step], rest, (*at, step))


def unknown_field_errors(
    route: str, body: Any, extras: tuple[ExtraInput, ...]
) -> list[dict[str, Any]]:
    """`extra_forbidden` errors for the fields of a rejected body that nothing accepts.

    When FastAPI refuses a body for its contract fields, the check against the champions'
    inputs (`RequestInputs.rows`) never runs; this adds the unknown fields to that 422, so one
    answer names every problem. Fields a served champion needs are not unknown.
    """

    accepted = {*CensusAdmission.model_fields, *LABEL_COLUMNS, *(e.name for e in extras)}
    errors = []
    for loc, row in _rows_in(body, _ROWS_AT.get(route, ("-",)), ("body",)):
        for name in row:
            if name not in accepted:
                msg = "Extra inputs are not permitted"
                errors.append({"loc": (*loc, name), "msg": msg, "type": "extra_forbidden"})
    return errors


def _with_extras(schema: dict[str, Any], extras: tuple[ExtraInput, ...]) -> dict[str, Any]:
    """A copy of an admission's JSON schema with the extra inputs as required properties."""
    out = copy.deepcopy(schema)
    properties = out.setdefault("properties", {})
    required = out.setdefault("required", [])
    model_schema = extra_inputs_model(extras).model_json_schema()
    for extra in extras:
        properties[extra.name] = model_schema["properties"][extra.name]
        if extra.name not in required:
            required.append(extra.name)
    return out


def describe_champion_inputs(app: FastAPI, holder: ModelHolder) -> None:
    """Make `app.openapi()` list the served champions' extra inputs (rebuilt when they change)."""
    build: Callable[[], dict[str, Any]] = app.openapi
    described: list[tuple[ExtraInput, ...]] = [()]

    def openapi() -> dict[str, Any]:
        current = holder.current
        extras = current.scorer.extra_inputs if current is not None else ()
        if app.openapi_schema is not None and extras == described[0]:
            return app.openapi_schema
        app.openapi_schema = None
        schema = build()
        if extras:
            schemas = schema["components"]["schemas"]
            for name in ADMISSION_SCHEMAS:
                if name in schemas:
                    schemas[name] = _with_extras(schemas[name], extras)
        described[0] = extras
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
