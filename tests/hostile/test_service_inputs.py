"""Issue 11 item 11: a champion trained with extra inputs is never scored without them.

A registry is trained on generated admissions plus two columns beyond the contract
(`features.extra_numeric: [news2_score]`, `features.extra_categorical: [mobility]`). Before the
fix the API refused those fields (422, unknown field) and scored the admission silently without
them, and `los score` on data lacking them exited 0. Now the API's request check, the batch
loader and the scorer follow the champions' own input list: a needed field that is absent is an
error naming it, a value of the wrong type is refused (API) or quarantined (batch), `null` or a
blank is scored as missing and counted, and `/openapi.json` lists the fields.

Everything is real: MLflow on SQLite, `los score` and `los serve` processes on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from los.config import Settings
from los.errors import MissingColumnError
from tests.conftest import fast_config
from tests.integration.test_service_server import LOS, Server, json_rows, server_env, start_server
from tests.reliability.test_fuzz import (
    allow_list_dates_after_data,
    documented_leniency,
    no_leaked_error,
)

EXTRA_NUMBER, EXTRA_TEXT = "news2_score", "mobility"
MOBILITY = np.array(["independent", "walking aid", "hoist"], dtype=object)
KEY = "inputs-test-key-4b9e1d7c"


@dataclass(frozen=True)
class ExtrasRegistry:
    """A registry whose champions read `news2_score` and `mobility`, and its data."""

    data_dir: Path
    tracking_uri: str
    admissions: pd.DataFrame
    champions: dict[str, tuple[str, str]]  # registered name -> (version, run id)

    @property
    def env(self) -> dict[str, str]:
        """Environment for `los` subprocesses on this registry."""
        import os

        return {
            **os.environ,
            "LOS_DATA_DIR": str(self.data_dir),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
        }


def with_extra_inputs(admissions: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The admissions plus an informative score and category (seeded, from the true risks)."""
    rng = np.random.default_rng(11)
    risk = admissions[["spell_id"]].merge(truth, on="spell_id", how="left")
    out = admissions.copy()
    out[EXTRA_NUMBER] = np.round(
        20 * risk["p_long_stay"].to_numpy() + rng.normal(0, 1, len(out)), 1
    )
    level = np.digitize(risk["p_nctr"].to_numpy() + rng.normal(0, 0.05, len(out)), [0.15, 0.35])
    out[EXTRA_TEXT] = MOBILITY[level]
    return out


@pytest.fixture(scope="session")
def extras_registry(
    tmp_path_factory: pytest.TempPathFactory, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> ExtrasRegistry:
    """Train every target with the two extra inputs and make each version `champion`."""
    from models import registry
    from training.register import train_and_register

    data_dir = tmp_path_factory.mktemp("extras-registry")
    admissions = with_extra_inputs(*generated)
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    config = fast_config(
        features={"extra_numeric": [EXTRA_NUMBER], "extra_categorical": [EXTRA_TEXT]}
    )
    summary: Any = train_and_register(admissions, config, settings, data_dir / "reports")
    champions = {}
    for outcome in summary.outcomes:  # gates are not what is tested here
        registry.promote(outcome.registered_name, outcome.version)
        found = registry.resolve(outcome.registered_name)
        champions[found.name] = (found.version, str(found.run_id))
    assert champions, "training registered no model"
    return ExtrasRegistry(data_dir, settings.tracking_uri, admissions, champions)


def _scorer(extras_registry: ExtrasRegistry) -> Any:
    from models import registry
    from models.scorer import Scorer

    registry.connect(extras_registry.tracking_uri, create=False)
    return Scorer(registry.load_models())


def _sample(extras_registry: ExtrasRegistry, n: int, seed: int = 3) -> pd.DataFrame:
    frame = extras_registry.admissions.sample(n, random_state=seed).reset_index(drop=True)
    return frame.drop(columns=["discharge_datetime", "discharge_ready_datetime"])


# --- batch: the scorer and `los score` ------------------------------------------------------


def test_scorer_knows_the_extra_inputs_of_its_models(extras_registry: ExtrasRegistry) -> None:
    scorer = _scorer(extras_registry)
    kinds = {e.name: e.kind for e in scorer.extra_inputs}
    assert kinds == {EXTRA_TEXT: "text", EXTRA_NUMBER: "number"}
    assert all(set(e.models) == set(extras_registry.champions) for e in scorer.extra_inputs)


@pytest.mark.parametrize("dropped", [[EXTRA_NUMBER], [EXTRA_TEXT], [EXTRA_NUMBER, EXTRA_TEXT]])
def test_scorer_refuses_rows_without_an_extra_input(
    extras_registry: ExtrasRegistry, dropped: list[str]
) -> None:
    scorer = _scorer(extras_registry)
    frame = _sample(extras_registry, 40).drop(columns=dropped)
    with pytest.raises(MissingColumnError) as table_error:
        scorer.score_table(frame)
    with pytest.raises(MissingColumnError):  # the path the service and the risk list take
        scorer.score(frame)
    message = str(table_error.value)
    assert "\n" not in message and all(name in message for name in dropped), message
    assert set(table_error.value.columns) == set(dropped)


def _los(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_los_score_names_a_missing_extra_column_before_scoring(
    extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    data = tmp_path / "no-mobility.csv"
    _sample(extras_registry, 30).drop(columns=[EXTRA_TEXT]).to_csv(data, index=False)
    out = tmp_path / "scores.csv"
    done = _los(
        "score", "--data", str(data), "--out", str(out), env=extras_registry.env, cwd=tmp_path
    )
    assert done.returncode != 0, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and EXTRA_TEXT in errors[0], done.stderr
    assert "required column(s) missing" in errors[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists()


def test_los_score_quarantines_an_extra_number_that_is_not_a_number(
    extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    frame = _sample(extras_registry, 60)
    text = frame.astype({EXTRA_NUMBER: object})
    text.loc[[4, 17], EXTRA_NUMBER] = ["high", "7,5"]  # read as text from a CSV
    data, out = tmp_path / "bad-news2.csv", tmp_path / "scores.csv"
    text.to_csv(data, index=False)
    env = {**extras_registry.env, "LOS_DATA_DIR": str(tmp_path)}  # quarantine under tmp_path
    done = _los("score", "--data", str(data), "--out", str(out), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "rows read 60; valid 58; quarantined 2" in done.stderr, done.stderr
    quarantine = pd.read_csv(tmp_path / "quarantine" / "score.csv", dtype=str)
    assert list(quarantine["row"]) == ["5", "18"]
    assert set(quarantine["reason"]) == {f"{EXTRA_NUMBER}: not numeric"}
    scores = pd.read_csv(out, dtype={"spell_id": str})
    expected = frame.drop(index=[4, 17])["spell_id"].tolist()
    assert scores["spell_id"].tolist() == expected  # 60 in = 58 scored + 2 quarantined


def test_los_score_uses_the_extra_inputs_and_counts_blanks(
    extras_registry: ExtrasRegistry, tmp_path: Path
) -> None:
    frame = _sample(extras_registry, 50)
    blank = frame.copy()
    blank.loc[:9, EXTRA_NUMBER] = np.nan  # 10 of 50 rows without the score
    results = {}
    for name, table in {"given": frame, "blank": blank}.items():
        data, out = tmp_path / f"{name}.parquet", tmp_path / f"{name}-scores.csv"
        table.to_parquet(data, index=False)
        done = _los(
            "score", "--data", str(data), "--out", str(out), env=extras_registry.env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        results[name] = (pd.read_csv(out), done.stderr)
    given, blanked = results["given"][0], results["blank"][0]
    column = next(c for c in given.columns if c.endswith("_probability"))
    moved = (given[column] - blanked[column]).abs()
    assert (moved.iloc[:10] > 0).sum() >= 3, "the extra input is not used"  # NaN may share a leaf
    assert (moved.iloc[10:] == 0).all()
    assert f"extra input {EXTRA_NUMBER} is blank in 10 of 50 rows (20.0%)" in results["blank"][1]
    assert "extra input" not in results["given"][1]


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extras_server(
    extras_registry: ExtrasRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("extras-server")
    env = server_env(extras_registry.env, api_keys=KEY, audit_url=f"sqlite:///{tmp / 'a.db'}")
    server = start_server(env, tmp / "server.log", key=KEY)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _rows(extras_registry: ExtrasRegistry, n: int = 5) -> list[dict[str, Any]]:
    return json_rows(_sample(extras_registry, n, seed=9), extra=(EXTRA_NUMBER, EXTRA_TEXT))


def test_api_scores_with_the_extra_inputs_as_los_score_does(
    extras_registry: ExtrasRegistry, extras_server: Server, tmp_path: Path
) -> None:
    rows = _rows(extras_registry, 8)
    with extras_server.client() as c:
        one = c.post("/v1/score", json=rows[0])
        batch = c.post("/v1/score/batch", json=rows)
        census = c.post("/v1/risk-list", json={"admissions": rows})
    assert one.status_code == 200 and batch.status_code == 200, one.text + batch.text
    assert census.status_code == 200, census.text
    data, out = tmp_path / "rows.parquet", tmp_path / "scores.csv"
    _sample(extras_registry, 8, seed=9).to_parquet(data, index=False)
    done = _los(
        "score", "--data", str(data), "--out", str(out), env=extras_registry.env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    cli = pd.read_csv(out, dtype={"spell_id": str})
    for i, result in enumerate(batch.json()):
        for target, score in result["scores"].items():
            assert score["probability"] == cli.loc[i, f"{target}_probability"], (i, target)
    assert one.json() == batch.json()[0]


def _without(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != name}


BAD_REQUESTS = {
    # name: (path, body builder, loc of the error, error type)
    "number absent": ("/v1/score", lambda r: _without(r[0], EXTRA_NUMBER), ["body", EXTRA_NUMBER],
                      "missing"),
    "text absent": ("/v1/score", lambda r: _without(r[0], EXTRA_TEXT), ["body", EXTRA_TEXT],
                    "missing"),
    "number as text": ("/v1/score", lambda r: {**r[0], EXTRA_NUMBER: "QVAL-7.5"},
                       ["body", EXTRA_NUMBER], "value_error"),
    "number as true": ("/v1/score", lambda r: {**r[0], EXTRA_NUMBER: True},
                       ["body", EXTRA_NUMBER], "value_error"),
    "text as a number": ("/v1/score", lambda r: {**r[0], EXTRA_TEXT: 2}, ["body", EXTRA_TEXT],
                         "string_type"),
    "text too long": ("/v1/score", lambda r: {**r[0], EXTRA_TEXT: "QVAL" + "x" * 200},
                      ["body", EXTRA_TEXT], "string_too_long"),
    "unknown field": ("/v1/score", lambda r: {**r[0], "nhs_number": "QVAL943476"},
                      ["body", "nhs_number"], "extra_forbidden"),
    "batch row 2 absent": ("/v1/score/batch", lambda r: [r[0], _without(r[1], EXTRA_NUMBER)],
                           ["body", 1, EXTRA_NUMBER], "missing"),
    "census row 1 absent": ("/v1/risk-list",
                            lambda r: {"admissions": [_without(r[0], EXTRA_TEXT), r[1]]},
                            ["body", "admissions", 0, EXTRA_TEXT], "missing"),
    "census unknown field": ("/v1/risk-list",
                             lambda r: {"admissions": [r[0], {**r[1], "dob": "QVAL1950"}]},
                             ["body", "admissions", 1, "dob"], "extra_forbidden"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_api_refuses_a_missing_or_mistyped_extra_input_naming_it(
    extras_registry: ExtrasRegistry, extras_server: Server, case: str
) -> None:
    path, body, loc, kind = BAD_REQUESTS[case]
    with extras_server.client() as c:
        r = c.post(path, json=body(_rows(extras_registry)))
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [loc, kind] in [[e["loc"], e["type"]] for e in errors], errors
    assert "QVAL" not in r.text  # the value sent is never echoed


def test_api_refused_contract_fields_and_unknown_fields_in_one_answer(
    extras_registry: ExtrasRegistry, extras_server: Server
) -> None:
    row = {**_without(_rows(extras_registry)[0], "spell_id"), "patient_name": "QVAL-NAME"}
    with extras_server.client() as c:
        r = c.post("/v1/score", json=row)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["detail"]]
    assert ["body", "spell_id"] in locs and ["body", "patient_name"] in locs, locs
    assert ["body", EXTRA_NUMBER] not in locs  # a needed field is not "unknown"
    assert "QVAL" not in r.text


def test_api_scores_a_null_extra_input_as_missing_and_counts_it(
    extras_registry: ExtrasRegistry, extras_server: Server
) -> None:
    rows = _rows(extras_registry, 3)
    nulls = [{**r, EXTRA_NUMBER: None} for r in rows[:2]]
    metric = f'los_missing_inputs_total{{field="{EXTRA_NUMBER}"}}'
    with extras_server.client() as c:
        before = _metric(c.get("/metrics").text, metric)
        given = c.post("/v1/score/batch", json=rows[:2]).json()
        r = c.post("/v1/score/batch", json=[*nulls, rows[2]])
        after = _metric(c.get("/metrics").text, metric)
    assert r.status_code == 200, r.text
    assert after - before == 2
    target = next(iter(given[0]["scores"]))
    assert r.json()[0]["scores"][target]["probability"] != given[0]["scores"][target]["probability"]


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_openapi_lists_the_champions_extra_inputs(extras_server: Server) -> None:
    with extras_server.client() as c:
        schema = c.get("/openapi.json").json()
    for name in ("Admission", "CensusAdmission"):
        model = schema["components"]["schemas"][name]
        assert {EXTRA_NUMBER, EXTRA_TEXT} <= set(model["required"]), name
        assert model["additionalProperties"] is False
        number = model["properties"][EXTRA_NUMBER]["anyOf"]
        assert {"type": "number"} in number and {"type": "null"} in number
        text = model["properties"][EXTRA_TEXT]["anyOf"]
        assert {"type": "null"} in text
        assert any(t.get("type") == "string" and t.get("maxLength") for t in text)


# --- the schema says exactly what is accepted: fuzz the extras server from /openapi.json --------


@pytest.fixture(scope="module")
def extras_api_schema(extras_server: Server) -> Any:
    """The extras server's live schema, with the key; only the operations that take admissions."""
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"APIKeyHeader": {"api_key": KEY}}},
            "generation": {"max-examples": 15},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "429"]
                },
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{extras_server.url}/openapi.json", config=config)

    @schema.hook
    def filter_case(context: Any, case: Any) -> bool:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        return not (negative and documented_leniency(case.body))

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        return allow_list_dates_after_data(case)

    return schema.include(method="POST")


extras_fuzz = schemathesis.pytest.from_fixture("extras_api_schema")


@extras_fuzz.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_the_operations_that_take_extra_inputs(case: Any) -> None:
    case.call_and_validate(additional_checks=[no_leaked_error], timeout=30)
