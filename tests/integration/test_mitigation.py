"""Mitigation on, end to end (real `los` subprocesses, a real registry, a real server):
`los train` says the model uses ethnicity at scoring time, the model card and report say so, the
registered version is format "2", and `los score`, `los risk-list` and the API's one-row dict
path all give the recalibrated probability (not the Platt-only one) for the same rows."""

from __future__ import annotations

import html
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from features.history import compute_history
from los.config import Settings
from los.errors import ModelNotFoundError
from models import registry
from models.bundle import ModelBundle
from tests.conftest import fast_config
from tests.integration.test_service_server import LOS, json_rows, server_env, start_server
from training.mitigation import SCORING_NOTICE

LABELS = ("discharge_datetime", "discharge_ready_datetime", "discharge_destination",
          "discharge_pathway")  # fmt: skip


@dataclass(frozen=True)
class Mitigated:
    """A registry trained by `los train` with the NCTR group recalibration on."""

    data_dir: Path
    admissions: pd.DataFrame
    console: str
    env: dict[str, str]
    nctr: ModelBundle
    formats: dict[str, str]


@pytest.fixture(scope="module")
def mitigated(
    tmp_path_factory: pytest.TempPathFactory, generated: tuple[pd.DataFrame, pd.DataFrame]
) -> Iterator[Mitigated]:
    data_dir = tmp_path_factory.mktemp("mitigated")
    admissions = generated[0].iloc[:8000].reset_index(drop=True)
    source = data_dir / "admissions.parquet"
    admissions.to_parquet(source)
    config = fast_config(
        mitigation={
            # every group, so the small extract has shifts to carry (the default moves only
            # groups flagged on the calibration period: tests/unit/test_mitigation.py)
            "group_recalibration": True,
            "targets": ["nctr"],
            "groups": "all",
            "min_group_size": 10,
        }
    )
    config_path = data_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    env = {
        **os.environ,
        "LOS_DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
    done = subprocess.run(
        [LOS, "train", "--data", str(source), "--config", str(config_path)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    registry.connect(settings.tracking_uri)
    formats = {}
    for name in ("los-long-stay", "los-nctr"):
        version = registry.resolve(name, registry.CHALLENGER).version
        tags = registry.connected().client.get_model_version(name, version).tags
        formats[name] = tags[registry.FORMAT_TAG]
        try:
            champion = registry.resolve(name).version
        except ModelNotFoundError:
            champion = None
        if champion != version:  # held by a gate: the risk list and API need a champion
            registry.promote(name, version)
    nctr, _ = registry.load_bundle("los-nctr", registry.CHAMPION)
    yield Mitigated(data_dir, admissions, done.stdout, env, nctr, formats)


def test_training_says_it_uses_ethnicity_at_scoring_time(mitigated: Mitigated) -> None:
    console = " ".join(mitigated.console.split())  # the console may wrap long lines
    assert "nctr: mitigation on" in console and SCORING_NOTICE in console
    assert "long_stay: mitigation on" not in console  # only the chosen target
    reports = mitigated.data_dir / "reports" / "latest"
    card = " ".join((reports / "model_card.md").read_text().split())
    assert "## Mitigation: group recalibration" in card
    assert f"This model {SCORING_NOTICE}." in card
    assert "by the group recalibration chosen for nctr, **at scoring time**" in card
    page = " ".join(html.unescape((reports / "report.html").read_text()).split())
    assert f"This model {SCORING_NOTICE}." in page
    assert 'id="mitigation-groups-nctr"' in page


def test_the_version_needs_format_2_and_ethnicity_is_not_a_tree_input(
    mitigated: Mitigated,
) -> None:
    assert mitigated.formats == {"los-long-stay": "1", "los-nctr": "2"}
    bundle = mitigated.nctr
    assert bundle.group_recalibrator is not None
    assert "ethnic_category" not in bundle.feature_names
    assert "ethnic_category" not in bundle.booster.feature_name()
    assert bundle.metadata["mitigation"]["attributes"] == ["ethnicity_deprivation"]


def test_score_risk_list_and_api_give_the_same_recalibrated_probability(
    mitigated: Mitigated, tmp_path: Path
) -> None:
    admissions = mitigated.admissions
    planted = admissions["ethnic_category"].isin(["M", "N", "P"]) & admissions["imd_decile"].le(2)
    sample = pd.concat(
        [admissions[planted].head(15), admissions[~planted].sample(25, random_state=3)]
    ).reset_index(drop=True)
    sample.loc[[15, 16], "ethnic_category"] = None  # not known: the loader and API say "99"
    sample.loc[17, "imd_decile"] = np.nan
    history = compute_history(sample, admissions)
    table = pd.concat([sample, history], axis=1)
    inpatients = table.drop(columns=list(LABELS))
    scored_csv, census_csv = tmp_path / "rows.csv", tmp_path / "census.csv"
    table.to_csv(scored_csv, index=False)
    inpatients.to_csv(census_csv, index=False)
    on = pd.to_datetime(inpatients["admission_datetime"]).max().date().isoformat()

    def los(*args: str) -> None:
        done = subprocess.run([LOS, *args], env=mitigated.env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    los("score", "--data", str(scored_csv), "--out", str(tmp_path / "scores.csv"))
    los("risk-list", "--data", str(census_csv), "--date", on, "--out", str(tmp_path / "list.csv"))
    server = start_server(server_env(mitigated.env), tmp_path / "server.log")
    try:
        server.wait_ready()
        with server.client() as c:
            one = [c.post("/v1/score", json=row) for row in json_rows(inpatients.head(3))]
            batch = c.post("/v1/score/batch", json=json_rows(inpatients))
    finally:
        server.stop()
    assert batch.status_code == 200, batch.text
    assert all(r.status_code == 200 for r in one), [r.text for r in one]

    scores = pd.read_csv(tmp_path / "scores.csv", dtype={"spell_id": str})
    cli = dict(zip(scores["spell_id"], scores["nctr_probability"], strict=True))
    risk = pd.read_csv(tmp_path / "list.csv", dtype={"spell_id": str})
    listed = dict(zip(risk["spell_id"], risk["nctr_probability"], strict=True))
    api = {r["spell_id"]: r["scores"]["nctr"]["probability"] for r in batch.json()}
    single = {r.json()["spell_id"]: r.json()["scores"]["nctr"]["probability"] for r in one}
    assert len(cli) == len(listed) == len(api) == len(sample)
    for spell in cli:
        assert cli[spell] == listed[spell] == api[spell], spell
    assert all(single[s] == api[s] for s in single)

    bundle = mitigated.nctr  # in-process: what the recalibrated model gives, and Platt alone
    x = bundle.encode(table)
    expected = np.round(bundle.probability(x, table), 6)
    platt = np.round(bundle.calibrator.transform(bundle.raw_score(x)), 6)
    got = np.array([cli[s] for s in table["spell_id"]])
    np.testing.assert_array_equal(got, expected)
    assert bundle.group_recalibrator is not None
    shift = bundle.group_recalibrator.shifts_["ethnicity_deprivation"]
    assert shift.get("Black or Black British, Core20", 0.0) != 0.0
    moved = ~np.isclose(got, platt, rtol=0, atol=1e-6)
    assert moved[:15].all()  # every path applied the planted group's shift
    assert json.loads(json.dumps(api))  # plain JSON numbers
