"""Fuzz the running service from its own OpenAPI schema (schemathesis 4).

Every operation of `/openapi.json`, with the API key, gets schema-valid and schema-violating
requests (`LOS_FUZZ_EXAMPLES` generated examples per operation, default 30, plus schemathesis'
explicit and boundary cases; no deadline). Each response is
checked by schemathesis' default checks - no 5xx, status code documented, body and headers as the
schema says, valid data accepted, invalid data rejected, a request without the key refused - and
by ours: no Python traceback or exception repr in any body. Afterwards the server log must show no
unhandled exception.

Leniencies the service documents (docs/service.md) are not "invalid data accepted": a code or text
field sent as a JSON number (`"sex": 2` is `"2"`) and a code with surrounding spaces. Requests
whose only violation could be one of those are filtered out of the negative cases. A valid census
request with a `date` is sent with `allow_after_data: true` (`allow_list_dates_after_data`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.schemas import BaseSchema

from los.schema import COLUMNS
from tests.integration.test_service_server import Server
from tests.reliability.conftest import API_KEY

EXAMPLES = int(os.environ.get("LOS_FUZZ_EXAMPLES", "30"))

# What a leaked Python error looks like in a response body.
LEAK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"
    r"|\b[A-Z]\w*(?:Error|Exception)\(|<class '|object at 0x[0-9a-f]+"
)

_TEXT = {c.name: c.codes for c in COLUMNS if c.kind == "str"}


def _lenient(row: Any) -> bool:
    """A field in a row that the service documents as accepted although the schema says string."""
    if not isinstance(row, dict):
        return False
    for name, codes in _TEXT.items():
        value = row.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if codes and isinstance(value, str) and value != value.strip() and value.strip() in codes:
            return True
    return False


def documented_leniency(body: Any) -> bool:
    """True when any admission in a score, batch or risk-list body uses a documented leniency."""
    if isinstance(body, list):
        return any(_lenient(row) for row in body)
    if isinstance(body, dict):
        rows = body.get("admissions")
        if isinstance(rows, list):
            return any(_lenient(row) for row in rows)
        return _lenient(body)
    return False


def allow_list_dates_after_data(case: Case) -> Case:
    """A schema-valid census request with a `date` asks for it with `allow_after_data: true`.

    `/v1/risk-list` and `/v1/forecast` refuse a date after the posted admissions' latest admission
    date on or before today (docs/service.md, "The list date"): a rule on the rows that the schema
    cannot state, held by tests/integration/test_service_list_dates.py. Without the flag, most
    generated dates (years to 2199) would be that 422, which "valid data is accepted" counts as a
    failure; with it, the fuzzer reaches the list code with those dates, as before the rule.
    """
    positive = case.meta is None or not case.meta.generation.mode.is_negative
    body = case.body
    if positive and isinstance(body, dict) and body.get("date") is not None:
        case.body = {**body, "allow_after_data": True}
    return case


def no_leaked_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No Python traceback, frame or exception repr in any response body."""
    text = response.text or ""
    found = LEAK.search(text)
    assert found is None, f"response leaks a Python error: {found.group(0)!r}"
    return None


@pytest.fixture(scope="module")
def api_schema(service: Server) -> Iterator[BaseSchema]:
    """The live schema of the module's server, with the key and the fuzzing limits."""
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"APIKeyHeader": {"api_key": API_KEY}}},
            "generation": {"max-examples": EXAMPLES},
            "checks": {
                # 413 for a body or batch above the deployment's limit is a valid answer to any
                # schema-valid request: the limits are configuration, not schema.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "429"]
                },
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json", config=config)

    @schema.hook
    def filter_case(context: Any, case: Case) -> bool:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        return not (negative and documented_leniency(case.body))

    @schema.hook
    def map_case(context: Any, case: Case) -> Case:
        return allow_list_dates_after_data(case)

    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_every_operation(case: Case) -> None:
    case.call_and_validate(additional_checks=[no_leaked_error], timeout=30)


def test_fuzzing_left_no_unhandled_exception_in_the_log(service: Server) -> None:
    log = service.log()
    if "POST /v1/score" not in log:
        pytest.skip("checks the log the fuzz test leaves: run the two together")
    assert "unhandled" not in log, log[-3000:]
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"sex": 2}, True),
        ({"spell_id": 17}, True),
        ({"sex": " 2 "}, True),
        ({"sex": "2"}, False),
        ({"sex": True}, False),
        ({"sex": "X"}, False),
        ([{"age": 3}, {"site": 1.5}], True),
        ({"admissions": [{"admission_method": "11 "}]}, True),
        ({"admissions": "x"}, False),
        ("text", False),
    ],
)
def test_documented_leniency_filter(body: Any, expected: bool) -> None:
    assert documented_leniency(body) is expected


@pytest.mark.parametrize(
    "text",
    [
        'Traceback (most recent call last):\n  File "/x.py", line 3, in f',
        "ValueError('bad')",
        "<class 'KeyError'>",
        "<Booster object at 0x7f00aa>",
    ],
)
def test_leak_pattern_catches_python_errors(text: str) -> None:
    assert LEAK.search(text)


def test_leak_pattern_passes_product_messages() -> None:
    for text in (
        '{"detail":[{"loc":["body","age"],"msg":"Value error, must be a JSON number",'
        '"type":"value_error"}]}',
        '{"detail":"internal error"}',
        '{"detail":"missing or invalid API key (send it in the X-API-Key header)"}',
    ):
        assert not LEAK.search(text)


# Regressions: what the fuzzer found (each was a 500, a silent coercion or a schema mismatch).


def test_openapi_documents_every_error_status(service: Server) -> None:
    with service.client(key="") as c:
        doc = c.get("/openapi.json").json()
    assert "ErrorOut" in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if op.get("security"):
                assert "401" in codes, (method, path)
            if path.startswith("/v1/"):
                assert "503" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, (method, path)
    score_422 = doc["paths"]["/v1/score"]["post"]["responses"]["422"]
    refs = json.dumps(score_422["content"]["application/json"]["schema"])
    assert "HTTPValidationError" in refs and "ErrorOut" in refs


def test_openapi_says_what_is_accepted(service: Server) -> None:
    with service.client(key="") as c:
        schemas = c.get("/openapi.json").json()["components"]["schemas"]
    admission = schemas["Admission"]["properties"]
    assert admission["spell_id"]["minLength"] == 1 and "pattern" in admission["spell_id"]
    assert admission["ethnic_category"]["enum"][-1] is None  # nullable code: null is a value
    assert admission["sex"]["enum"] == ["0", "1", "2", "9"]  # required code: no null
    assert admission["admission_datetime"]["pattern"].startswith("^(?:19|20|21)")
    assert schemas["RiskListRequest"]["properties"]["admissions"]["minItems"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"spell_id": "   "}, "spell_id"),  # blank key: refused, and the schema says so
        ({"site": "\u2003\x1c"}, "site"),  # Unicode spaces strip() removes
        ({"days_since_last_discharge": False}, "days_since_last_discharge"),  # was read as 0
        ({"prior_admissions_365d": True}, "prior_admissions_365d"),  # was read as 1
        ({"age": "65"}, "age"),  # text is not a number
        ({"frailty_score": "nan"}, "frailty_score"),
        ({"admission_datetime": 1700000000}, "admission_datetime"),  # was read as Unix time
        ({"admission_datetime": "1700000000"}, "admission_datetime"),
        ({"admission_datetime": "0001-01-01T00:00:00+01:00"}, "admission_datetime"),  # was a 500
        ({"admission_datetime": "9999-12-31T23:59:59-05:00"}, "admission_datetime"),  # was a 500
        ({"admission_datetime": "0001-01-01T00:00:00"}, "admission_datetime"),  # was wrapped
        ({"admission_datetime": "2500-01-01T00:00:00"}, "admission_datetime"),  # was wrapped
    ],
)
def test_fuzzer_findings_are_422(
    service: Server, request_rows: list[dict[str, Any]], change: dict[str, Any], field: str
) -> None:
    with service.client() as c:
        r = c.post("/v1/score", json={**request_rows[0], **change})
    assert r.status_code == 422, r.text
    assert ["body", field] in [e["loc"] for e in r.json()["detail"]]


@pytest.mark.parametrize(
    "body",
    [
        {"admissions": []},  # was a 422 with a one-line body the schema did not describe
        {"admissions": "PLACEHOLDER", "capacity": False},  # was read as capacity 0
        {"admissions": "PLACEHOLDER", "date": 0},  # was read as 1970-01-01
        {"admissions": "PLACEHOLDER", "date": "1800-01-01"},
    ],
)
def test_risk_list_findings_are_422(
    service: Server, request_rows: list[dict[str, Any]], body: dict[str, Any]
) -> None:
    if body["admissions"] == "PLACEHOLDER":
        body = {**body, "admissions": request_rows[:3]}
    with service.client() as c:
        r = c.post("/v1/risk-list", json=body)
    assert r.status_code == 422, r.text
    assert all(isinstance(e["loc"], list) for e in r.json()["detail"])


@pytest.mark.parametrize(
    "when", ["1900-01-01T00:00:00+05:00", "2199-12-31T23:59:59-05:00", "2024-02-29 08:00"]
)
def test_dates_at_the_edges_of_the_range_are_scored(
    service: Server, request_rows: list[dict[str, Any]], when: str
) -> None:
    with service.client() as c:
        r = c.post("/v1/score", json={**request_rows[0], "admission_datetime": when})
    assert r.status_code == 200, r.text
