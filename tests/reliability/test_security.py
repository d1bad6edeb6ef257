"""Security of the running service: keys, error bodies without patient data, size limits, logs.

The property test sends admissions carrying unique marker values in every patient field (ids,
ward, site, diagnosis, a date-of-birth-like date) with one field broken, to each endpoint, and
checks the 422 names the broken field and the problem but echoes none of the values sent.
`tests/integration/test_service.py` already covers 401, 422 naming the field, 413 by
`Content-Length` and a clean server log for the scoring path; this adds what it does not.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import serving.deps
from serving.deps import key_matches
from tests.integration.test_service_server import Server
from tests.reliability.conftest import API_KEY, MAX_BATCH, MAX_BODY_BYTES

MARKER = st.from_regex(r"\AQ[A-Z]{3}[0-9]{6}\Z")  # never a code, a number or an English word

# field -> how to break it with a marker inside the bad value (or the marker as the bad value)
BREAKERS: dict[str, Any] = {
    "sex": lambda m: f"X{m}",
    "admission_method": lambda m: m,
    "ethnic_category": lambda m: m.lower(),
    "admission_source": lambda m: m,
    "admission_datetime": lambda m: f"1957-03-14T25:61:00 {m}",  # DOB-like date, bad time
    "age": lambda m: m,  # text where a number belongs
    "imd_decile": lambda m: [m],
    "frailty_score": lambda m: {"value": m},
    "spell_id": lambda m: {"id": m},
    "patient_id": lambda m: [m, m],
    "comorbidity_count": lambda m: f"{m}",
}


def _posted(endpoint: str, row: dict[str, Any]) -> tuple[str, Any, list[Any]]:
    """(path, body, location prefix of the row's fields in a 422) for one endpoint."""
    if endpoint == "batch":
        return "/v1/score/batch", [row], ["body", 0]
    if endpoint == "risk-list":
        return "/v1/risk-list", {"admissions": [row]}, ["body", "admissions", 0]
    return "/v1/score", row, ["body"]


@pytest.fixture(scope="module")
def client(service: Server) -> Iterator[Any]:
    with service.client() as c:
        yield c


@given(
    markers=st.lists(MARKER, min_size=6, max_size=6, unique=True),
    field=st.sampled_from(sorted(BREAKERS)),
    endpoint=st.sampled_from(["score", "batch", "risk-list"]),
    base=st.integers(0, 199),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_422_names_the_field_but_never_echoes_patient_values(
    client: Any,
    request_rows: list[dict[str, Any]],
    markers: list[str],
    field: str,
    endpoint: str,
    base: int,
) -> None:
    spell, patient, ward, site, diagnosis, bad = markers
    row = {
        **request_rows[base],
        "spell_id": f"S-{spell}",
        "patient_id": f"P-{patient}",
        "ward": f"W-{ward}",
        "site": f"H-{site}",
        "primary_diagnosis": f"D-{diagnosis}",
    }
    row[field] = BREAKERS[field](bad)
    path, body, prefix = _posted(endpoint, row)
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [*prefix, field] in [e["loc"] for e in errors], errors
    assert all(set(e) == {"loc", "msg", "type"} for e in errors), errors
    assert all(e["msg"] for e in errors)
    for value in markers:
        assert value not in r.text, f"422 echoes a submitted value: {r.text}"
    assert "1957-03-14" not in r.text


def test_422_for_a_wrongly_shaped_body_does_not_echo_it(client: Any) -> None:
    row = {"patient_id": "QPID000111", "spell_id": "QSPL000222", "age": 999}
    batch_as_object = client.post("/v1/score/batch", json=row)  # an object where a list belongs
    census_as_list = client.post("/v1/risk-list", json=[row])
    unknown = client.post("/v1/score", json={"patient_name": "QNAME000333"})
    for r in (batch_as_object, census_as_list, unknown):
        assert r.status_code == 422
        assert "QPID000111" not in r.text and "QSPL000222" not in r.text, r.text
        assert "999" not in r.text
    assert ["body", "patient_name"] in [e["loc"] for e in unknown.json()["detail"]]
    assert "QNAME000333" not in unknown.text


def test_malformed_json_is_422_without_the_body(client: Any) -> None:
    text = '{"patient_id": "QPID000444", "spell_id": "QSPL000555", "age": '
    r = client.post("/v1/score", content=text, headers={"content-type": "application/json"})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["type"] == "json_invalid" and detail["loc"][0] == "body"
    assert "QPID000444" not in r.text and "QSPL000555" not in r.text


def test_unreadable_body_is_a_documented_400(client: Any) -> None:
    r = client.post(
        "/v1/score",
        content=b'{"patient_id": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert set(r.json()) == {"detail"}


@pytest.mark.parametrize("sent", ["", "wrong", API_KEY[:-1], API_KEY + "x", API_KEY.upper()])
def test_401_reveals_no_key(service: Server, request_rows: list[dict[str, Any]], sent: str) -> None:
    with service.client(key=sent) as c:
        r = c.post("/v1/score", json=request_rows[0])
    assert r.status_code == 401
    assert API_KEY not in r.text
    if sent:
        assert sent not in r.text
    assert request_rows[0]["patient_id"] not in r.text


def test_key_comparison_is_constant_time_over_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hmac.compare_digest` on equal-length digests, once per configured key, whatever matches."""
    calls: list[tuple[int, int]] = []
    real = serving.deps.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(serving.deps.hmac, "compare_digest", spy)
    keys = ["first-key", "a-much-longer-second-key-0123456789", "k3"]
    for given_key, expected in [
        ("first-key", True),
        ("k3", True),
        ("nope", False),
        ("", False),
        ("é-non-ascii", False),
    ]:
        calls.clear()
        assert key_matches(given_key, keys) is expected
        assert len(calls) == len(keys), "stopped early: the time would reveal which key matched"
        assert {a for a, _ in calls} == {b for _, b in calls} == {32}, "lengths would leak"
    assert key_matches(None, keys) is False


def _chunks(total: int, size: int = 16_384) -> Iterator[bytes]:
    yield b'{"spell_id": "'
    sent = 14
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1_000, 3 * MAX_BODY_BYTES])
def test_chunked_body_over_the_limit_is_413(service: Server, size: int) -> None:
    """No Content-Length to refuse up front: the body is counted as it arrives. Just over the
    limit (the last chunk crosses it) used to hang until the client gave up."""
    with service.client(timeout=10) as c:
        r = c.post("/v1/score", content=_chunks(size), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert str(MAX_BODY_BYTES) in r.json()["detail"]


def test_census_over_the_row_limit_is_413(client: Any, request_rows: list[dict[str, Any]]) -> None:
    census = [{**request_rows[i % 50], "discharge_datetime": None} for i in range(MAX_BATCH + 1)]
    r = client.post("/v1/risk-list", json={"admissions": census})
    assert r.status_code == 413 and f"limit of {MAX_BATCH}" in r.json()["detail"]


def test_the_server_log_holds_none_of_the_values_sent(
    service: Server, client: Any, request_rows: list[dict[str, Any]]
) -> None:
    """After every error path above (and a few more here), no sent value is in the server log."""
    marked = {**request_rows[1], "spell_id": "QSPL999001", "patient_id": "QPID999002"}
    client.post("/v1/score", json={**marked, "age": "QAGE999003"})
    client.post("/v1/score/batch", json=[marked] * (MAX_BATCH + 1))
    client.post("/v1/risk-list", json={"admissions": [{**marked, "admission_datetime": 17}]})
    client.post("/v1/score", content=json.dumps(marked)[:-5], headers={"content-type": "text/x"})
    with service.client(key="QKEY999004") as c:
        c.post("/v1/score", json=marked)
    time.sleep(0.5)
    log = service.log()
    assert "POST /v1/score" in log
    assert not re.search(r"Q(?:PID|SPL|AGE|KEY|NAME|[A-Z]{3}[0-9]{6})", log), (
        "a sent value is logged"
    )
    assert API_KEY not in log
    assert "Traceback" not in log and "unhandled" not in log
