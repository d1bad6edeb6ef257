"""The bed forecast and the risk list's outlook rest on the served stay distribution model (its
own curve per patient, given the days already stayed), and on the Kaplan-Meier baseline, said
with the reason, only when there is no stay champion (issue 13; CONTRACT §7)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.forecast_backtest import compare_providers
from features.load import load_admissions, write_frame
from models import registry
from models.bed_provider import elapsed_days
from models.census import select_census
from models.forecast import baseline_forecast, forecast_spells
from models.scorer import Scorer
from models.stay_curve import survival_at
from models.stay_outlook import stay_outlooks
from models.stay_provider import model_provider
from models.stay_table import StayTable, as_known_at
from tests.conftest import TrainedRegistry
from tests.integration.test_cli import los

DAYS = 3


@pytest.fixture(scope="module")
def spells(
    generated: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    """The last ~1,500 admissions of the generated data (ended spells and today's inpatients),
    read back as the commands read them."""
    admissions = generated[0].sort_values("admission_datetime", kind="stable")
    path = write_frame(admissions.tail(1500), tmp_path_factory.mktemp("spells") / "s.parquet")
    return load_admissions(str(path)).frame


@pytest.fixture(scope="module")
def scorer(trained_registry: TrainedRegistry) -> Scorer:
    """Every champion of the session registry, the stay distribution model among them."""
    registry.connect(trained_registry.settings.tracking_uri)
    found = Scorer(registry.load_models("champion"))
    assert found.stay is not None
    return found


def _without_time(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "generated_at"}


def test_forecast_is_each_patients_curve_given_the_days_stayed(
    tmp_path: Path, spells: pd.DataFrame, scorer: Scorer, trained_registry: TrainedRegistry
) -> None:
    data = write_frame(spells, tmp_path / "spells.parquet")
    out = tmp_path / "forecast.json"
    done = los("forecast", "--data", str(data), "--days", str(DAYS), "--out", str(out),
               env=trained_registry.env)  # fmt: skip
    payload = json.loads(out.read_text())
    stay = scorer.stay.identity  # type: ignore[union-attr]
    assert payload["provider"].startswith(f"stay distribution model {stay.name} version")
    assert payload["provider_reason"] is None and "los-stay-distribution" in done.stdout
    # the command's forecast is the in-process one from the same champions
    today = datetime.now(UTC).date()
    mine = forecast_spells(spells, scorer, None, days=DAYS, today=today).to_dict()
    assert _without_time(payload) == _without_time(mine)
    # and that is, per ward, the sum of S(elapsed + h) / S(elapsed) over its patients
    census, on, _, _ = select_census(spells, None, None, today)
    origin = pd.Timestamp(on) + pd.Timedelta(days=1)
    history = as_known_at(spells, origin)
    curves = scorer.stay_curves(census, history)  # read between days as its quantiles are
    elapsed = elapsed_days(census, origin)
    now = survival_at(curves.survival, elapsed, curves.within_day)
    wards = census["ward"].astype("string").fillna("not recorded").astype(str).to_numpy()
    sites = census["site"].astype(str).to_numpy()
    checked = 0
    for group in payload["wards"]:
        rows = np.flatnonzero((wards == group["ward"]) & (sites == group["site"]))
        for h, day in enumerate(group["days"], start=1):
            later = survival_at(curves.survival[rows], elapsed[rows] + h, curves.within_day)
            want = float(np.sum(later / now[rows]))
            assert day["occupied_beds"]["expected"] == pytest.approx(want, abs=2e-3)
            checked += 1
    assert checked == DAYS * len(payload["wards"]) > 0
    # the Kaplan-Meier baseline gives other numbers: this test fails if it were still used
    km = baseline_forecast(spells, days=DAYS, today=today).to_dict()
    assert km["provider"] == StayTable.name
    first = [w["days"][0]["occupied_beds"]["expected"] for w in payload["wards"]]
    assert first != [w["days"][0]["occupied_beds"]["expected"] for w in km["wards"]]


def test_forecast_nctr_bed_days_come_from_the_models_wait(
    spells: pd.DataFrame, scorer: Scorer
) -> None:
    no_ready = spells.assign(discharge_ready_datetime=pd.NaT)  # no ready date recorded
    today = datetime.now(UTC).date()
    with_nctr = forecast_spells(no_ready, scorer, None, days=DAYS, today=today)
    assert "NCTR waits with los-nctr version" in with_nctr.provider
    waiting = sum(w.days[-1].nctr_bed_days.expected for w in with_nctr.wards)
    assert waiting > 0  # from P(NCTR) and the expected wait, not from recorded ready dates
    flags_only = {t: m for t, m in scorer.models.items() if t != "nctr"}
    without = forecast_spells(no_ready, Scorer(flags_only), None, days=DAYS, today=today)
    assert "NCTR counted only where a ready date is recorded" in without.provider
    assert sum(w.days[-1].nctr_bed_days.expected for w in without.wards) == 0


def test_forecast_without_a_stay_champion_falls_back_and_says_why(
    tmp_path: Path, spells: pd.DataFrame
) -> None:
    data = write_frame(spells, tmp_path / "spells.parquet")
    env = {**os.environ, "LOS_DATA_DIR": str(tmp_path / "empty")}  # no registry there
    env.pop("MLFLOW_TRACKING_URI", None)
    for suffix in ("json", "csv", "html"):
        done = los("forecast", "--data", str(data), "--days", "2", "--out",
                   str(tmp_path / f"f.{suffix}"), env=env)  # fmt: skip
    payload = json.loads((tmp_path / "f.json").read_text())
    assert payload["provider"] == StayTable.name
    reason = payload["provider_reason"]
    assert reason.startswith("Kaplan-Meier baseline used: no champion to use")
    assert "registry database not found" in reason and reason in done.stdout
    table = pd.read_csv(tmp_path / "f.csv")
    assert set(table["provider"]) == {StayTable.name} and set(table["provider_reason"]) == {reason}
    assert "Kaplan-Meier baseline used" in (tmp_path / "f.html").read_text()


def test_forecast_names_why_the_stay_model_is_missing(spells: pd.DataFrame, scorer: Scorer) -> None:
    flags = Scorer({t: m for t, m in scorer.models.items() if m is not scorer.stay})
    why = "Stay distribution model awaiting review: no champion (version 2 is held)"
    result = forecast_spells(spells, flags, why, days=DAYS)
    assert result.provider == StayTable.name
    assert result.provider_reason == f"Kaplan-Meier baseline used: {why}"
    assert result.to_dict()["provider_reason"] == result.provider_reason


def test_risk_list_outlook_is_each_patients_curve(
    tmp_path: Path, spells: pd.DataFrame, scorer: Scorer, trained_registry: TrainedRegistry
) -> None:
    data = write_frame(spells, tmp_path / "spells.parquet")
    out = tmp_path / "list.json"
    los("risk-list", "--data", str(data), "--out", str(out), env=trained_registry.env)
    payload = json.loads(out.read_text())
    stay = scorer.stay.identity  # type: ignore[union-attr]
    assert payload["outlook_source"].startswith(f"stay distribution model {stay.name} version")
    census, on, _, _ = select_census(spells, None, None, datetime.now(UTC).date())
    found = stay_outlooks(census, on, model_provider(scorer, spells))
    want = dict(zip(census["spell_id"].astype(str), found, strict=True))
    assert len(payload["patients"]) == len(census) > 0
    for patient in payload["patients"]:
        assert patient["outlook"] == want[patient["spell_id"]].to_dict()
    assert payload["nctr_bed_days_this_week"]["wards"]
    los("risk-list", "--data", str(data), "--out", str(tmp_path / "list.csv"),
        env=trained_registry.env)  # fmt: skip
    table = pd.read_csv(tmp_path / "list.csv")
    assert table["discharge_outlook"].str.startswith("likely home").all()
    assert set(table["outlook_source"]) == {payload["outlook_source"]}


def test_backtest_gives_the_models_band_coverage_next_to_kaplan_meiers(
    scorer: Scorer, trained_registry: TrainedRegistry
) -> None:
    frame = trained_registry.admissions
    window = trained_registry.summary.data_window  # type: ignore[attr-defined]
    start = pd.Timestamp(window["test_start"]).date() + timedelta(days=14)
    figures = compare_providers(frame, start, start + timedelta(days=14), scorer, 3, 7)
    model, km = figures["stay_model"], figures["kaplan_meier"]
    assert model["list_dates"] == km["list_dates"] == 3
    for measure in ("occupied_beds", "nctr_bed_days"):
        assert 0 <= model[measure]["coverage"] <= 1 and 0 <= km[measure]["coverage"] <= 1
        assert model[measure]["ward_days"] == km[measure]["ward_days"] > 0
    assert model["occupied_beds"] != km["occupied_beds"]  # two providers, not one
