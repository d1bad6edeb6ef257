"""List dates over HTTP: `POST /v1/risk-list` and `POST /v1/forecast` on a real `los serve` on
127.0.0.1 refuse a `date` after the posted admissions' latest admission date on or before today
(UTC), as `los risk-list --date` does (tests/hostile/test_cli_dates.py), with the usual 422 naming
`["body", "date"]` and neither date; `allow_after_data: true` is the CLI's `--allow-future-date`.
Earlier dates, the default date, and malformed or blank dates are held here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import Server, json_rows, running_server, server_env

LATEST = "2025-03-05"  # the latest admission date of the census posted
FIRST = "2025-02-20"  # its first
ENDPOINTS = ("/v1/risk-list", "/v1/forecast")


@pytest.fixture(scope="module")
def server(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("list_dates")
    with running_server(server_env(trained_registry.env), tmp / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def census(trained_registry: TrainedRegistry) -> list[dict[str, Any]]:
    """Eight current inpatients admitted from FIRST to LATEST (no discharge fields)."""
    sample = trained_registry.admissions.sample(8, random_state=11).reset_index(drop=True)
    days = pd.date_range(FIRST, LATEST, periods=8).normalize() + pd.Timedelta(hours=9, minutes=30)
    sample["admission_datetime"] = days
    return json_rows(sample)


def _post(server: Server, path: str, census: list[dict[str, Any]], **fields: Any) -> httpx.Response:
    with server.client() as c:
        return c.post(path, json={"admissions": census, **fields})


def _today() -> datetime:
    return datetime.now(UTC)


def _refused_for_date(r: httpx.Response) -> dict[str, Any]:
    """The one error of a 422 that names the list date."""
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "date"]], errors
    error: dict[str, Any] = errors[0]
    return error


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("day", ["2025-03-06", "2062-03-05"])  # the day after the data; a typo
def test_a_date_after_the_data_is_refused_naming_the_field(
    server: Server, census: list[dict[str, Any]], path: str, day: str
) -> None:
    r = _post(server, path, census, date=day)
    error = _refused_for_date(r)
    assert error["type"] == "date_after_data"
    assert "after the latest admission date in the data on or before today" in error["msg"]
    assert "allow_after_data" in error["msg"]
    # neither the date sent nor a patient's admission date comes back
    assert day not in r.text and LATEST not in r.text


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_date_after_today_is_refused_though_an_admission_is_dated_later(
    server: Server, census: list[dict[str, Any]], path: str
) -> None:
    """An admission today and one mis-dated 2150: today is a list date, tomorrow (UTC) is not."""
    now = _today()
    dated = [
        {**census[0], "admission_datetime": now.strftime("%Y-%m-%dT00:05:00")},
        {**census[1], "spell_id": f"{census[1]['spell_id']}-2150",
         "admission_datetime": "2150-01-01T10:00:00"},
        *census[2:],
    ]  # fmt: skip
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    _refused_for_date(_post(server, path, dated, date=tomorrow))
    today = _post(server, path, dated, date=now.date().isoformat())
    assert today.status_code == 200, today.text
    assert today.json()["list_date"] == now.date().isoformat()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_allow_after_data_lets_a_later_date_through(
    server: Server, census: list[dict[str, Any]], path: str
) -> None:
    r = _post(server, path, census, date="2062-03-05", allow_after_data=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["list_date"] == "2062-03-05" and body["list_date_rule"] == "the date given"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_latest_admission_date_itself_is_accepted(
    server: Server, census: list[dict[str, Any]], path: str
) -> None:
    r = _post(server, path, census, date=LATEST, allow_after_data=False)
    assert r.status_code == 200, r.text
    assert r.json()["list_date"] == LATEST
    assert r.json()["counts"]["left_off_admitted_after_list_date"] == 0


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("fields", [{}, {"date": None}])
def test_the_default_date_is_the_latest_admission_date(
    server: Server, census: list[dict[str, Any]], path: str, fields: dict[str, Any]
) -> None:
    r = _post(server, path, census, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["list_date"] == LATEST
    assert body["list_date_rule"].startswith("the latest admission date in the data on or before")
    assert body["counts"]["inpatients"] == len(census)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_date_before_the_first_admission_lists_nobody_and_says_why(
    server: Server, census: list[dict[str, Any]], path: str
) -> None:
    """As `los risk-list --date`: an earlier date is a list of that day, on which none of the
    posted patients had been admitted; the answer says so instead of looking like a real list."""
    r = _post(server, path, census, date="2001-01-01")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["inpatients"] == 0
    assert body["counts"]["left_off_admitted_after_list_date"] == len(census)
    assert (
        f"{len(census)} patients admitted after the list date are not on this list"
        in (body["notes"])
    )


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "day", ["2025-13-01", "2025-02-30", "05/03/2025", "", "   ", 20250305, "1899-12-31", "tomorrow"]
)
def test_malformed_and_blank_dates_are_422_naming_date(
    server: Server, census: list[dict[str, Any]], path: str, day: Any
) -> None:
    r = _post(server, path, census, date=day)
    error = _refused_for_date(r)
    assert error["type"] != "date_after_data"
    if str(day).strip():
        assert str(day) not in r.text


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("flag", ["true", 1, "yes", None])
def test_allow_after_data_must_be_a_json_boolean(
    server: Server, census: list[dict[str, Any]], path: str, flag: Any
) -> None:
    r = _post(server, path, census, date="2062-03-05", allow_after_data=flag)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "allow_after_data"]]


def test_openapi_states_the_rule(server: Server) -> None:
    with server.client() as c:
        schemas = c.get("/openapi.json").json()["components"]["schemas"]
    for name in ("RiskListRequest", "ForecastRequest"):
        properties = schemas[name]["properties"]
        assert "is refused, 422 naming `date`" in properties["date"]["description"]
        assert "after today" in properties["date"]["description"]
        flag = properties["allow_after_data"]
        assert flag["type"] == "boolean" and flag["default"] is False
        assert "--allow-future-date" in flag["description"]
