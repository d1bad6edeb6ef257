"""`los forecast` end to end (CSV, HTML, JSON) and `POST /v1/forecast` on a real server on
127.0.0.1 answering the same JSON as the command for the same spells."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from features.load import write_frame
from tests.conftest import TrainedRegistry
from tests.integration.test_cli import los
from tests.integration.test_service_server import json_rows, server_env, start_server

LABELS = ("discharge_datetime", "discharge_ready_datetime")


@pytest.fixture(scope="module")
def spells(generated: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The last ~1,500 admissions of the generated data: ended spells and today's inpatients."""
    admissions = generated[0].sort_values("admission_datetime", kind="stable")
    return admissions.tail(1500).reset_index(drop=True)


def _without_time(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "generated_at"}


def test_forecast_writes_csv_html_and_json(tmp_path: Path, spells: pd.DataFrame) -> None:
    data = write_frame(spells, tmp_path / "spells.parquet")
    env = {**os.environ, "LOS_DATA_DIR": str(tmp_path / "data")}
    base = ("forecast", "--data", str(data), "--days", "5", "--at-least", "3", "--at-least", "10")
    for suffix in ("csv", "html", "json"):
        los(*base, "--out", str(tmp_path / f"f.{suffix}"), env=env)
    table = pd.read_csv(tmp_path / "f.csv")
    inpatients = int(spells["discharge_datetime"].isna().sum())
    assert inpatients > 0
    per_ward = table[(table["ward"] != "All wards") & (table["day_ahead"] == 1)]
    occupied = per_ward[per_ward["measure"] == "occupied_beds"]
    assert occupied["patients_now"].sum() == inpatients
    assert (occupied["p10"] <= occupied["p50"]).all() and (occupied["p50"] <= occupied["p90"]).all()
    assert (occupied["expected"] <= occupied["patients_now"]).all()
    assert {"p_at_least_3", "p_at_least_10"} <= set(table.columns)
    assert sorted(table["day_ahead"].unique()) == [1, 2, 3, 4, 5]
    payload = json.loads((tmp_path / "f.json").read_text())
    assert payload["days"] == 5 and payload["at_least"] == [3, 10]
    assert sum(w["patients"] for w in payload["wards"]) == inpatients
    first = payload["wards"][0]["days"][0]["occupied_beds"]
    assert set(first) == {"expected", "p10", "p50", "p90", "p_at_least_3", "p_at_least_10"}
    page = (tmp_path / "f.html").read_text()
    assert "Bed forecast for today" in page and "likely range" in page
    assert payload["wards"][0]["ward"] in page


def test_service_answers_the_same_json_as_the_command(
    tmp_path: Path, spells: pd.DataFrame, trained_registry: TrainedRegistry
) -> None:
    data = write_frame(spells, tmp_path / "spells.parquet")
    env = trained_registry.env  # the service answers once its models are loaded, as /v1 does
    out = tmp_path / "cli.json"
    los("forecast", "--data", str(data), "--days", "4", "--at-least", "5", "--out", str(out),
        env=env)  # fmt: skip
    server = start_server(
        server_env(env, max_batch=5000, max_body_bytes=20_000_000), tmp_path / "server.log"
    )
    try:
        server.wait_ready()
        body = {"admissions": json_rows(spells, LABELS), "days": 4, "at_least": [5]}
        with server.client() as client:
            answer = client.post("/v1/forecast", json=body)
            assert answer.status_code == 200, answer.text
            unknown = client.post(
                "/v1/forecast", json={"admissions": [{**body["admissions"][0], "bogus": 1}]}
            )
            csv = client.post("/v1/forecast", params={"format": "csv"}, json=body)
    finally:
        server.stop()
    assert _without_time(answer.json()) == _without_time(json.loads(out.read_text()))
    assert unknown.status_code == 422 and "bogus" in unknown.text
    assert csv.status_code == 200 and csv.text.startswith("site,ward,date,day_ahead,measure")
