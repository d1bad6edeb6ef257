"""The forecast backtest: observed counts follow the census patients in the full data, nothing
later reaches the forecast, and the coverage and chart are built from the rows."""

from __future__ import annotations

import base64
from datetime import date

import numpy as np
import pandas as pd

from evaluation.forecast_backtest import backtest_chart, backtest_forecast


def _frame(n: int = 600, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    admitted = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.random(n) * 90, "D")
    stay = pd.to_timedelta(rng.exponential(6, n), "D")
    discharged = admitted + stay
    ready = discharged - pd.to_timedelta(rng.random(n) * 3, "D")
    return pd.DataFrame(
        {
            "spell_id": [f"s{i}" for i in range(n)],
            "patient_id": [f"p{i}" for i in range(n)],
            "site": "A",
            "ward": rng.choice(["W1", "W2", "W3"], n),
            "specialty": "300",
            "age": rng.integers(20, 95, n),
            "admission_datetime": admitted,
            "discharge_datetime": discharged,
            "discharge_ready_datetime": ready.where(rng.random(n) < 0.3, discharged),
        }
    )


def test_observed_counts_follow_the_census_patients() -> None:
    frame = _frame()
    result = backtest_forecast(frame, date(2024, 2, 20), date(2024, 2, 24), days=3, step_days=2)
    rows = result.rows
    assert sorted(rows["list_date"].unique()) == [
        date(2024, 2, 20),
        date(2024, 2, 22),
        date(2024, 2, 24),
    ]
    one = rows[(rows["list_date"] == date(2024, 2, 22)) & (rows["ward"] == "W2")]
    origin = pd.Timestamp("2024-02-23")
    ward = frame[(frame["ward"] == "W2") & (frame["admission_datetime"] < origin)]
    census = ward[ward["discharge_datetime"] > origin]
    for h in (1, 2, 3):
        at = origin + pd.Timedelta(days=h)
        in_bed = census["discharge_datetime"] > at
        waiting = in_bed & (census["discharge_ready_datetime"] <= at)
        got = one[one["day_ahead"] == h].set_index("measure")["observed"]
        assert got["occupied_beds"] == in_bed.sum()
        assert got["nctr_bed_days"] == waiting.sum()
        assert (one["patients"] == len(census)).all()
    inside = (rows["p10"] <= rows["observed"]) & (rows["observed"] <= rows["p90"])
    assert (rows["inside"] == inside).all()
    summary = result.summary()
    assert summary["list_dates"] == 3
    assert 0.0 <= summary["occupied_beds"]["coverage"] <= 1.0
    pit = rows["pit_inside"]
    assert ((pit >= 0) & (pit <= 1)).all() and summary["nctr_bed_days"]["pit_coverage"] > 0
    svg = base64.b64decode(backtest_chart(result, day_ahead=2).split(",", 1)[1]).decode()
    assert "Share inside the 80% band" in svg and "beds occupied 2 days on" in svg


def test_days_past_the_end_of_the_data_are_left_out() -> None:
    frame = _frame()
    last = pd.to_datetime(frame["discharge_datetime"]).max()
    on = (last - pd.Timedelta(days=3)).date()
    rows = backtest_forecast(frame, on, on, days=7).rows
    assert rows["day_ahead"].max() <= 2
