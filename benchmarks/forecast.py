"""Ward bed forecast benchmark: speed of a 20-ward 7-day forecast, and a backtest's coverage.

Usage: python benchmarks/forecast.py [--rows 200000] [--weeks 8] [--step-days 2] [--repeat 20]

Speed (goal: a 20-ward, 7-day forecast in <= 0.5 s): 20 wards of 30 inpatients each, timed as
(a) the exact count distributions and summaries from given per-patient probabilities (what the
stay distribution model plugs into), (b) the Kaplan-Meier baseline's probabilities for those
patients, and (c) the whole `los forecast` path (fit on every spell known at the list date, then
forecast every ward of the data). Backtest: the last `--weeks` weeks of the generated data, a
list date every `--step-days` days, coverage of the 80% band by measure and day ahead beside the
band's own probability and the randomised-PIT share (goal 0.78-0.82; see
evaluation/forecast_backtest.py); the chart is written under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import base64
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import ROOT, save, table


def _best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def speed(admissions: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """Median seconds of each layer of a 20-ward, 7-day forecast."""
    from models.bed_provider import SurvivalProvider
    from models.forecast import baseline_forecast, build_forecast
    from models.stay_table import StayTable

    rng = np.random.default_rng(0)
    on = pd.to_datetime(admissions["admission_datetime"]).max().date()
    origin = pd.Timestamp(on) + pd.Timedelta(days=1)
    n = 20 * 30
    census = pd.DataFrame(
        {
            "spell_id": [f"s{i}" for i in range(n)],
            "patient_id": [f"p{i}" for i in range(n)],
            "site": "S1",
            "ward": [f"W{i % 20:02d}" for i in range(n)],
            "specialty": rng.choice(["300", "430", "100", "110"], n),
            "age": rng.integers(20, 95, n),
            "admission_datetime": origin - pd.to_timedelta(rng.exponential(6, n), "D"),
            "discharge_datetime": pd.NaT,
        }
    )
    survival = np.cumprod(np.r_[1.0, np.full(60, 0.9)])[None, :].repeat(n, axis=0)
    curves = SurvivalProvider(survival, np.full_like(survival, 0.2))
    table_ = StayTable().fit(admissions, origin)
    return {
        "wards": 20,
        "patients": n,
        "days": 7,
        "aggregate_seconds": _best(lambda: build_forecast(census, curves, on=on, days=7), repeat),
        "baseline_probabilities_seconds": _best(
            lambda: table_.bed_probabilities(census, origin, 7), repeat
        ),
        "kaplan_meier_fit_seconds": _best(lambda: StayTable().fit(admissions, origin), 3),
        "whole_command_seconds": _best(lambda: baseline_forecast(admissions, days=7), 3),
        "inpatients_in_data": int(admissions["discharge_datetime"].isna().sum()),
    }


def main(rows: int, weeks: int, step_days: int, repeat: int) -> dict[str, Any]:
    """Generate, time, backtest; print tables; return the JSON payload."""
    from evaluation.forecast_backtest import backtest_chart, backtest_forecast
    from features.generate import generate_admissions

    admissions = generate_admissions(rows, seed=11).admissions
    s = speed(admissions, repeat)
    table(
        f"20-ward 7-day forecast ({s['patients']} inpatients), median seconds",
        ["step", "seconds"],
        [
            ["count distributions + summaries from given probabilities", s["aggregate_seconds"]],
            ["Kaplan-Meier baseline probabilities", s["baseline_probabilities_seconds"]],
            [f"Kaplan-Meier fit on {rows:,} spells", s["kaplan_meier_fit_seconds"]],
            [f"whole `los forecast` path ({s['inpatients_in_data']:,} inpatients)",
             s["whole_command_seconds"]],
        ],
    )  # fmt: skip
    last = pd.to_datetime(admissions["discharge_datetime"]).max().date()
    end = last - timedelta(days=8)
    start = end - timedelta(weeks=weeks)
    t = time.perf_counter()
    result = backtest_forecast(admissions, start, end, days=7, step_days=step_days)
    seconds = time.perf_counter() - t
    cov = result.coverage(("measure", "day_ahead"))
    table(
        f"Backtest {start} to {end}, every {step_days} days ({seconds:.0f} s): share inside the "
        "80% band, the band's own probability, and the randomised-PIT share (goal 0.78-0.82)",
        [
            "measure",
            "day ahead",
            "ward-days",
            "coverage",
            "band's own",
            "PIT share",
            "mean abs error",
        ],
        cov.values.tolist(),
    )
    busy = result.rows[result.rows["patients"] >= 10]
    busy_cov = _subset_summary(busy)
    chart = ROOT / "benchmarks" / "results" / "forecast_backtest.svg"
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_bytes(base64.b64decode(backtest_chart(result).split(",", 1)[1]))
    return {
        "forecast": {
            "rows": rows,
            "speed": s,
            "backtest": result.summary() | {"seconds": round(seconds, 1)},
            "backtest_wards_10_plus": busy_cov,
            "chart": str(chart),
        }
    }


def _subset_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """The summary restricted to some ward-days (e.g. wards of 10+ patients)."""
    from evaluation.forecast_backtest import Backtest

    return Backtest(rows.reset_index(drop=True)).summary() if len(rows) else {}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--step-days", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    a = parser.parse_args()
    payload = main(a.rows, a.weeks, a.step_days, a.repeat)
    print(f"results: {save('forecast', payload)}")
