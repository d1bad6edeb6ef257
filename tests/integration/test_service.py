"""The HTTP service on 127.0.0.1 (a real `los serve` subprocess on the trained registry).

Endpoints, API keys, bad input (422 naming the field), size limits (413), metrics, the audit
trail, history lookup, the risk list and that no patient data reaches the server's log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.groups import ethnic_group
from features.history import compute_history
from los.schema import HISTORY_COLUMNS
from tests.conftest import TrainedRegistry
from tests.integration.test_service_server import (
    Server,
    json_rows,
    probabilities,
    server_env,
    start_server,
)

KEYS = ("key-one-5a1f0c2b7e4d", "key-two-9c2e7d3f8a1b")  # at least 16 characters
MAX_BATCH = 50


@dataclass
class Running:
    server: Server
    audit_path: Path


@pytest.fixture(scope="module")
def service(
    trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("service")
    audit = tmp / "audit.db"
    env = server_env(
        trained_registry.env,
        api_keys=",".join(KEYS),
        audit_url=f"sqlite:///{audit}",
        max_batch=MAX_BATCH,
        max_body_bytes=200_000,
        history_source=trained_registry.data_path,
    )
    server = start_server(env, tmp / "server.log", key=KEYS[0])
    try:
        server.wait_ready()
        yield Running(server, audit)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def champions(trained_registry: TrainedRegistry) -> dict[str, tuple[str, str]]:
    """target -> (registered name, version) of every model promoted by training."""
    outcomes = trained_registry.summary.outcomes  # type: ignore[attr-defined]
    found = {o.target: (o.registered_name, o.version) for o in outcomes if o.promoted}
    assert found, "training promoted no model"
    return found


@pytest.fixture(scope="module")
def served(trained_registry: TrainedRegistry, champions: dict) -> dict[str, tuple[str, str]]:
    """`champions` and the stay distribution's champion (CONTRACT §7; it scores no flag, so it
    is not among the flag targets of a score body or the audit)."""
    stay = trained_registry.summary.result.stay  # type: ignore[attr-defined]
    assert stay is not None and stay.identity is not None and stay.identity.alias == "champion"
    return {**champions, stay.target.name: (stay.identity.name, stay.identity.version)}


@pytest.fixture(scope="module")
def rows(trained_registry: TrainedRegistry) -> list[dict]:
    """Request rows with history given explicitly (no lookup needed)."""
    sample = trained_registry.admissions.sample(60, random_state=3).reset_index(drop=True)
    history = compute_history(sample, trained_registry.admissions)
    return json_rows(pd.concat([sample, history], axis=1))


def test_open_endpoints_need_no_key(service: Running, served: dict) -> None:
    with service.server.client(key="") as c:
        assert c.get("/health").json() == {"status": "ok"}
        ready = c.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["models"] == dict(served.values())
        assert "swagger" in c.get("/docs").text.lower()
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/v1/score", "/v1/score/batch", "/v1/risk-list", "/v1/models"} <= set(paths)
        schema = c.get("/openapi.json").json()["components"]["schemas"]["Admission"]
        assert schema["properties"]["sex"]["enum"] == ["0", "1", "2", "9"]


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_protected_endpoints_refuse_missing_or_wrong_key(
    service: Running, rows: list[dict], key: str | None
) -> None:
    with service.server.client(key=key or "") as c:
        for method, path, body in (
            ("POST", "/v1/score", rows[0]),
            ("POST", "/v1/score/batch", rows[:2]),
            ("POST", "/v1/risk-list", {"admissions": rows[:2]}),
            ("GET", "/v1/models", None),
            ("GET", "/metrics", None),
        ):
            r = c.request(method, path, json=body)
            assert r.status_code == 401, (path, r.text)


@pytest.mark.parametrize("key", KEYS)
def test_each_configured_key_is_accepted(service: Running, rows: list[dict], key: str) -> None:
    with service.server.client(key=key) as c:
        assert c.post("/v1/score", json=rows[0]).status_code == 200


def test_score_one_has_every_target_with_reasons_and_model(
    service: Running, rows: list[dict], champions: dict
) -> None:
    with service.server.client() as c:
        body = c.post("/v1/score", json=rows[1]).json()
    assert body["spell_id"] == rows[1]["spell_id"]
    assert set(body["scores"]) == set(champions)
    for target, s in body["scores"].items():
        assert 0 < s["probability"] < 1
        assert s["risk_band"] in {"low", "medium", "high"}
        assert s["flagged"] == (s["probability"] >= round(s["threshold"], 6) - 1e-6)
        name, version = champions[target]
        assert s["model"] == {"name": name, "version": version, "alias": "champion"}
        assert 1 <= len(s["reasons"]) <= 3
        assert set(s["reasons"][0]) >= {"feature", "value", "contribution", "text"}
        assert "_" not in s["reasons"][0]["text"].split("(")[0]  # words, not feature names


def test_batch_keeps_order_and_equals_single_scores(service: Running, rows: list[dict]) -> None:
    batch = rows[:12]
    with service.server.client() as c:
        results = c.post("/v1/score/batch", json=batch).json()
        singles = [c.post("/v1/score", json=r).json() for r in batch[:4]]
    assert [r["spell_id"] for r in results] == [r["spell_id"] for r in batch]
    for single, batched in zip(singles, results, strict=False):
        assert probabilities(single) == probabilities(batched)


def test_label_fields_are_ignored(service: Running, rows: list[dict]) -> None:
    labelled = {**rows[2], "discharge_datetime": "2099-01-01T00:00:00", "discharge_pathway": 3}
    with service.server.client() as c:
        a = c.post("/v1/score", json=rows[2]).json()
        b = c.post("/v1/score", json=labelled).json()
    assert probabilities(a) == probabilities(b)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": 200}, "age"),
        ({"sex": "7"}, "sex"),
        ({"admission_method": "77"}, "admission_method"),
        ({"admission_datetime": "not a date"}, "admission_datetime"),
        ({"imd_decile": 0}, "imd_decile"),
        ({"frailty": 3.0}, "frailty"),
        ({"prior_admissions_365d": -1}, "prior_admissions_365d"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    service: Running, rows: list[dict], change: dict, field: str
) -> None:
    with service.server.client() as c:
        r = c.post("/v1/score", json={**rows[0], **change})
        batch = c.post("/v1/score/batch", json=[rows[0], {**rows[0], **change}])
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert batch.status_code == 422
    assert batch.json()["detail"][0]["loc"] == ["body", 1, field]


def test_missing_required_field_is_422(service: Running, rows: list[dict]) -> None:
    row = {k: v for k, v in rows[0].items() if k != "admission_datetime"}
    with service.server.client() as c:
        r = c.post("/v1/score", json=row)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "admission_datetime"]


def test_size_limits_are_413(service: Running, rows: list[dict]) -> None:
    with service.server.client() as c:
        too_many = c.post("/v1/score/batch", json=[rows[0]] * (MAX_BATCH + 1))
        big = c.post(
            "/v1/score", content=b"[" + b" " * 250_000 + b"]",
            headers={"content-type": "application/json"},
        )  # fmt: skip
        ok = c.post("/v1/score/batch", json=rows[:MAX_BATCH])
    assert too_many.status_code == 413 and "limit of 50" in too_many.json()["detail"]
    assert big.status_code == 413
    assert ok.status_code == 200 and len(ok.json()) == MAX_BATCH


def test_models_endpoint_describes_each_model(
    service: Running, champions: dict, served: dict
) -> None:
    with service.server.client() as c:
        body = c.get("/v1/models").json()
    by_target = {m["target"]: m for m in body["models"]}
    assert set(by_target) == set(served)
    for target, m in by_target.items():
        assert (m["name"], m["version"], m["alias"]) == (*served[target], "champion")
        if target not in champions:  # the stay distribution: no flag, its own metrics
            assert m["test_metrics"]["coverage"] > 0
            # no placeholder threshold: what it has instead (horizon, interval and coverage)
            assert m["kind"] == "stay_distribution"
            assert m["threshold"] is None and m["high_band_cut"] is None
            shown = m["distribution"]
            assert shown["horizon_days"] == 60 and shown["interval"] == [0.1, 0.9]
            assert shown["interval_coverage"] == m["test_metrics"]["coverage"]
            assert shown["nctr_wait"]["n"] > 0
            continue
        assert m["kind"] in ("long_stay", "nctr") and m["distribution"] is None
        assert {"test_start", "data_end"} <= set(m["data_window"])
        assert 0 < m["threshold"] < 1
        assert 0.5 < m["training_metrics"]["auroc"] <= 1
        assert m["test_metrics"] == m["training_metrics"]  # test-period figures, both names


def test_metrics_count_requests_latency_and_scores(
    service: Running, rows: list[dict], champions: dict
) -> None:
    with service.server.client() as c:
        c.post("/v1/score", json=rows[3])
        text = c.get("/metrics").text
    assert 'los_http_requests_total{method="POST",route="/v1/score",status="200"}' in text
    assert 'los_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/score"}' in (
        text
    )
    for name, version in champions.values():
        assert f'los_scores_total{{model="{name}",version="{version}"}}' in text
        assert f'los_model_version_info{{model="{name}",version="{version}"}} 1.0' in text
    site = rows[3]["site"]  # per-site and per-ethnic-group score histograms (issue 14)
    group = ethnic_group({"ethnic_category": [rows[3]["ethnic_category"]]})[0]
    for target in champions:
        assert f'los_score_by_site_count{{site="{site}",target="{target}"}}' in text
        by_group = f'los_score_by_ethnic_group_count{{ethnic_group="{group}",target="{target}"}}'
        assert by_group in text


def test_every_score_is_audited_without_other_patient_data(
    service: Running, rows: list[dict], champions: dict
) -> None:
    marked = [{**r, "spell_id": f"AUDIT-{i}"} for i, r in enumerate(rows[:5])]
    with service.server.client() as c:
        results = c.post("/v1/score/batch", json=marked).json()
    engine = sa.create_engine(f"sqlite:///{service.audit_path}")
    deadline, audited = time.monotonic() + 15, pd.DataFrame()
    while time.monotonic() < deadline:
        audited = pd.read_sql("SELECT * FROM score_audit WHERE spell_id LIKE 'AUDIT-%'", engine)
        if len(audited) >= 5 * len(champions):
            break
        time.sleep(0.2)
    engine.dispose()
    assert len(audited) == 5 * len(champions)  # one row per spell and model
    assert set(audited.columns) == {
        "id", "scored_at", "model_name", "model_version", "spell_id", "probability", "flagged",
    }  # fmt: skip
    for result in results:
        for target, s in result["scores"].items():
            row = audited[
                (audited.spell_id == result["spell_id"])
                & (audited.model_name == champions[target][0])
            ].iloc[0]
            assert row.probability == pytest.approx(s["probability"], abs=1e-6)
            assert bool(row.flagged) == s["flagged"]
            assert row.model_version == champions[target][1]


def test_history_is_looked_up_from_the_configured_source(
    service: Running, trained_registry: TrainedRegistry
) -> None:
    admissions = trained_registry.admissions
    history = compute_history(admissions, admissions)
    with_prior = history.index[history["prior_admissions_365d"] >= 2][:3]
    assert len(with_prior), "the generated data should have returning patients"
    sample = admissions.loc[with_prior].reset_index(drop=True)
    bare = json_rows(sample, extra=())
    known = history.loc[with_prior].reset_index(drop=True)
    explicit = json_rows(pd.concat([sample, known], axis=1))
    zero = [{**r, **dict.fromkeys(HISTORY_COLUMNS[:3], 0)} for r in bare]
    with service.server.client() as c:
        looked_up = c.post("/v1/score/batch", json=bare).json()
        given = c.post("/v1/score/batch", json=explicit).json()
        none = c.post("/v1/score/batch", json=zero).json()
    assert [probabilities(r) for r in looked_up] == [probabilities(r) for r in given]
    assert [probabilities(r) for r in looked_up] != [probabilities(r) for r in none]


def test_risk_list_ranks_inpatients_within_capacity(service: Running, rows: list[dict]) -> None:
    census = [{**r, "discharge_datetime": None} for r in rows[:30]]
    census += [{**r, "discharge_datetime": "2030-01-01T00:00:00"} for r in rows[30:35]]
    request = {"admissions": census, "capacity": 5, "date": "2030-01-01", "allow_after_data": True}
    with service.server.client() as c:
        body = c.post("/v1/risk-list", json=request).json()
        html = c.post("/v1/risk-list?format=html", json=request)
        csv = c.post("/v1/risk-list?format=csv", json=request)
    patients = body["patients"]
    assert len(patients) == 30 and body["counts"]["left_off_discharged"] == 5
    assert [p["rank"] for p in patients] == list(range(1, 31))
    combined = [p["combined_risk"] for p in patients]
    assert combined == sorted(combined, reverse=True)
    assert [p["flagged"] for p in patients] == [True] * 5 + [False] * 25
    assert sum(w["patients"] for w in body["wards"]) == 30
    for target in body["models"]:
        expected = sum(p["targets"][target]["probability"] for p in patients)
        rolled_up = sum(s["expected"][target] for s in body["sites"])
        assert rolled_up == pytest.approx(expected, abs=0.01 * len(body["sites"]))
    assert html.headers["content-type"].startswith("text/html")
    assert "Discharge planning list" in html.text and "http://" not in html.text
    assert csv.text.startswith("rank,spell_id,patient_id")


def test_no_patient_data_in_the_server_log(service: Running, rows: list[dict]) -> None:
    marker = {
        **rows[0],
        "spell_id": "SPELL-ZQX-4417",
        "patient_id": "PATIENT-QWV-9981",
        "primary_diagnosis": "K35.8",
        "age": 117,
        "ward": "WARD-MARKER-77",
    }
    with service.server.client() as c:
        assert c.post("/v1/score", json=marker).status_code == 200
        assert c.post("/v1/score/batch", json=[marker, {**marker, "age": 300}]).status_code == 422
        assert c.post("/v1/score", json={**marker, "sex": "X"}).status_code == 422
        assert c.post("/v1/risk-list", json={"admissions": [marker]}).status_code == 200
    time.sleep(0.5)
    log = service.server.log()
    assert "POST /v1/score" in log  # the access log is captured
    # addresses, ports and log timestamps are numbers too: remove them before looking for ages
    log = re.sub(r"127\.0\.0\.1:\d+|\d{4}-\d\d-\d\d[ T][\d:,.]+", "", log)
    for value in ("SPELL-ZQX-4417", "PATIENT-QWV-9981", "K35", "WARD-MARKER", "117", "300"):
        assert not re.search(rf"(?<![\w.]){re.escape(value)}", log), value
    for r in rows:
        assert r["spell_id"] not in log and r["patient_id"] not in log
