"""The stay distribution end to end (issue 13; CONTRACT §7): trained and registered by the
training run on a few thousand generated spells, evaluated against the generator's truth, its
columns in `los score` and `/v1/score`, conditional quantiles for current inpatients."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from los.config import Settings
from tests.conftest import TrainedRegistry, fast_config
from tests.integration.test_service_server import LOS, json_rows, server_env, start_server

COLUMNS = ["los_p10_days", "los_median_days", "los_p90_days", "expected_discharge_date"]


@pytest.fixture(scope="module")
def stay_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedRegistry]:
    from features.generate import generate_admissions
    from features.load import write_frame
    from training.register import train_and_register

    data = generate_admissions(5_000, seed=3)
    data_dir = tmp_path_factory.mktemp("stay")
    path = write_frame(data.admissions, data_dir / "admissions.parquet")
    settings = Settings(los_data_dir=data_dir, mlflow_tracking_uri=None)
    # a wide coverage band: at 5,000 spells a small group's coverage is noisy, and these tests
    # need the stay model served (its gate is tested in tests/unit/test_stay_evaluation.py)
    gates = {"min_group_size": 50, "stay_coverage_band": [0.6, 0.97]}
    config = fast_config(targets={"stay_distribution": True, "stay_oracle": True}, gates=gates)
    summary = train_and_register(data.admissions, config, settings, data_dir / "reports")
    yield TrainedRegistry(settings, data_dir, path, data.admissions, data.truth, summary)


def test_training_evaluates_registers_and_agrees(stay_registry: TrainedRegistry) -> None:
    import json

    stay = stay_registry.summary.result.stay  # type: ignore[attr-defined]
    assert stay is not None
    figures = stay.evaluation.to_dict()
    assert figures["oracle"] is not None  # the truth was known: the oracle is scored too
    assert 0.6 <= figures["model"]["coverage"] <= 0.95
    assert figures["model"]["median_error_days"] >= figures["oracle"]["median_error_days"]
    kinds = {g.kind for g in stay.evaluation.gates}
    assert {"stay_concordance", "stay_calibration_7d", "stay_interval_coverage"} <= kinds
    assert "registry_roundtrip" in {g.name for g in stay.evaluation.gates}
    assert all(g.status != "fail" for g in stay.evaluation.gates)
    from models import registry

    registry.connect(stay_registry.settings.tracking_uri)
    bundle, identity = registry.load_bundle("los-stay-distribution", registry.CHAMPION)
    assert bundle.label_target.kind == "stay_distribution" and identity.version == "1"
    from models.stay_model import within_day_of

    shape = within_day_of(bundle)  # when within its day a stay ends, kept through the registry
    assert shape is not None and shape.shape == (60, 49)
    np.testing.assert_array_equal(shape, within_day_of(stay.bundle))
    for days in (7, 21):  # agreement with the long-stay flag models, reported
        agree = stay.agreement[f"long_stay_{days}"]
        assert agree["n"] > 0 and 0 <= agree["mean_abs_difference"] < 0.2
        assert agree["auroc_curve"] > 0.6 and agree["auroc_flag"] > 0.6
    assert stay.nctr_days["mean_abs_error_days"] is not None
    metrics = json.loads((stay_registry.data_dir / "reports" / "metrics.json").read_text())
    assert metrics["distribution"]["model"]["coverage"] == pytest.approx(
        figures["model"]["coverage"]
    )


def test_los_score_and_v1_score_carry_the_stay_columns(
    stay_registry: TrainedRegistry, tmp_path: Path
) -> None:
    from features.history import compute_history

    admissions = stay_registry.admissions
    inpatients = admissions[admissions["discharge_datetime"].isna()].head(10)
    ended = admissions[admissions["discharge_datetime"].notna()].sample(20, random_state=1)
    sample = pd.concat([ended, inpatients]).reset_index(drop=True)
    assert len(inpatients) > 0
    table = pd.concat([sample, compute_history(sample, admissions)], axis=1)
    source, out = tmp_path / "rows.csv", tmp_path / "scores.csv"
    table.to_csv(source, index=False)
    server = start_server(server_env(stay_registry.env), tmp_path / "server.log")
    try:
        cli = subprocess.run(
            [LOS, "score", "--data", str(source), "--out", str(out)],
            env=stay_registry.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        server.wait_ready()
        with server.client() as c:
            response = c.post("/v1/score/batch", json=json_rows(table))
    finally:
        server.stop()
    scored = pd.read_csv(out, dtype={"spell_id": str})
    for column in [*COLUMNS, "nctr_expected_days"]:
        assert column in scored.columns
    p10, median, p90 = (scored[c].to_numpy() for c in COLUMNS[:3])
    assert (p10 <= median).all() and (median <= p90).all() and (p10 >= 0).all()
    assert (scored["nctr_expected_days"] >= 0).all()
    # reasons for a longer stay: the day-0 hazard's SHAP, in the flags' wording
    assert scored["los_reasons"].fillna("").str.contains("risk").mean() > 0.9
    # current inpatients: quantiles conditional on the days already stayed, at the data's end
    admitted = pd.to_datetime(sample["admission_datetime"])
    now = admitted[admitted <= pd.Timestamp.now()].max()
    open_rows = sample["discharge_datetime"].isna().to_numpy()
    stayed = ((now - admitted) / pd.Timedelta(days=1)).to_numpy()[open_rows]
    assert (p10[open_rows] >= stayed - 1e-6).all()
    date = (admitted + pd.to_timedelta(median, unit="D")).dt.date.astype(str)
    assert list(scored["expected_discharge_date"]) == list(date)

    assert response.status_code == 200, response.text
    served = response.json()
    for row in served:
        assert set(COLUMNS) <= set(row) and "nctr_expected_days" in row
        assert row["los_p10_days"] <= row["los_median_days"] <= row["los_p90_days"]
    # the service scores at admission: the same as `los score` for the ended spells
    http = np.array([r["los_median_days"] for r in served])
    np.testing.assert_allclose(http[~open_rows], median[~open_rows], atol=0.011)
