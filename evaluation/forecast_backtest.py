"""Backtest of the ward bed forecast: forecast vs observed occupancy per ward and day ahead.

For each list date of a period the spells are cut to what a feed showed at the end of that day
(`models.stay_table.as_known_at`: no discharge or ready date from later), the forecast is made
exactly as `los forecast` makes it (`models.forecast.baseline_forecast`, `model_forecast` for
the stay distribution model, or any function with its signature), and each ward's census
patients are then followed in the full data: how many were still in a bed at each later
midnight, and how many of those were past their ready date.
The figure of merit is the share of observed counts inside the forecast's 80% band [p10, p90]
(goal 0.78-0.82). For counts a closed band holds at least 80% by construction (about 95% on a
ward of five patients), so two figures stand beside it: the band's own mean probability
(`band_mass`, the share to expect when the forecast is calibrated) and the randomised-PIT share
(`pit_coverage`: 0.8 exactly when calibrated, at any ward size; `CountSummary.pit_inside`).
`compare_providers` gives these figures for the stay model next to the Kaplan-Meier baseline's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from evaluation.svg import ACCENT, GOOD, INK, MUTED, WARN, Chart
from models.census import select_census
from models.forecast import MEASURES, Forecast, baseline_forecast, forecast_spells
from models.scorer import Scorer
from models.stay_table import as_known_at

GOAL = (0.78, 0.82)
ForecastFn = Callable[..., Forecast]


@dataclass(frozen=True)
class Backtest:
    """One row per list date, ward, day ahead and measure; and what it adds up to."""

    rows: pd.DataFrame  # list_date, site, ward, day_ahead, measure, expected, p10, p90, ...

    def coverage(self, by: tuple[str, ...] = ("measure",)) -> pd.DataFrame:
        """Share of observed counts inside [p10, p90], the band's own probability, mean absolute
        error of the expected count, and how many ward-days, by `by`."""
        grouped = self.rows.groupby(list(by), sort=True)
        return pd.DataFrame(
            {
                "ward_days": grouped.size(),
                "coverage": grouped["inside"].mean(),
                "band_mass": grouped["band_mass"].mean(),
                "pit_coverage": grouped["pit_inside"].mean(),
                "mean_abs_error": grouped["abs_error"].mean(),
            }
        ).reset_index()

    def summary(self) -> dict[str, Any]:
        """The figures for a report or the benchmark's console."""
        out: dict[str, Any] = {
            "goal": list(GOAL),
            "list_dates": int(self.rows["list_date"].nunique()),
        }
        for rec in self.coverage().to_dict("records"):
            measure = rec.pop("measure")
            out[measure] = {k: round(float(v), 4) for k, v in rec.items()}
        return out


def _observed(full: pd.DataFrame, census: pd.DataFrame, at: pd.Timestamp) -> tuple[np.ndarray, ...]:
    """For the census rows: in a bed at `at`, and in a bed and past the ready date then."""
    rows = full.loc[pd.Index(census["spell_id"].astype(str))]
    discharged = pd.to_datetime(rows["discharge_datetime"])
    in_bed = (discharged.isna() | (discharged > at)).to_numpy(bool)
    if "discharge_ready_datetime" in rows:
        ready = pd.to_datetime(rows["discharge_ready_datetime"])
        waiting = in_bed & (ready.notna() & (ready <= at)).to_numpy(bool)
    else:
        waiting = np.zeros_like(in_bed)
    return in_bed, waiting


def _ward_keys(census: pd.DataFrame) -> np.ndarray:
    site = census["site"].astype(str).to_numpy()
    ward = census["ward"].astype("string").fillna("not recorded").astype(str).to_numpy()
    return np.array([f"{s}\x1f{w}" for s, w in zip(site, ward, strict=True)], dtype=object)


def backtest_forecast(
    frame: pd.DataFrame,
    start: date,
    end: date,
    days: int = 7,
    step_days: int = 1,
    forecast: ForecastFn = baseline_forecast,
) -> Backtest:
    """Forecast each list date from `start` to `end` (every `step_days`) and compare with what
    happened. Days ahead past the data's last recorded time are left out (not yet observed)."""
    full = frame.assign(spell_id=frame["spell_id"].astype(str)).set_index("spell_id", drop=False)
    stamps = [pd.to_datetime(frame[c]).max() for c in ("admission_datetime", "discharge_datetime")]
    data_end = max(s for s in stamps if pd.notna(s))
    records: list[dict[str, Any]] = []
    on = start
    while on <= end:
        origin = pd.Timestamp(on) + pd.Timedelta(days=1)
        known = as_known_at(frame, origin)
        result = forecast(known, on=on, days=days, today=on)
        census, *_ = select_census(known, on, None, on)
        keys = _ward_keys(census) if len(census) else np.array([], dtype=object)
        for h in range(1, days + 1):
            at = origin + pd.Timedelta(days=h)
            if at > data_end or not len(census):
                break
            in_bed, waiting = _observed(full, census, at)
            observed = {"occupied_beds": in_bed, "nctr_bed_days": waiting}
            for group in result.wards:
                members = keys == f"{group.site}\x1f{group.ward}"
                day = group.days[h - 1]
                for measure in MEASURES:
                    s = getattr(day, measure)
                    seen = int(observed[measure][members].sum())
                    records.append(
                        {
                            "list_date": on, "site": group.site, "ward": group.ward,
                            "day_ahead": h, "measure": measure, "patients": group.patients,
                            "expected": s.expected, "p10": s.p10, "p50": s.p50, "p90": s.p90,
                            "band_mass": s.band_mass, "observed": seen,
                            "inside": s.p10 <= seen <= s.p90,
                            "pit_inside": s.pit_inside(seen),
                            "abs_error": abs(seen - s.expected),
                        }
                    )  # fmt: skip
        on += timedelta(days=step_days)
    return Backtest(pd.DataFrame(records))


def model_forecast(scorer: Scorer) -> ForecastFn:
    """`los forecast` with the stay distribution model `scorer` holds (as when it is served)."""
    return functools.partial(forecast_spells, scorer=scorer)


def compare_providers(
    frame: pd.DataFrame, start: date, end: date, scorer: Scorer, days: int = 7, step_days: int = 1
) -> dict[str, dict[str, Any]]:
    """The backtest's figures (`Backtest.summary`) for the stay distribution model and for the
    Kaplan-Meier baseline over the same list dates, side by side."""
    model = backtest_forecast(frame, start, end, days, step_days, model_forecast(scorer))
    baseline = backtest_forecast(frame, start, end, days, step_days)
    return {"stay_model": model.summary(), "kaplan_meier": baseline.summary()}


def backtest_chart(result: Backtest, day_ahead: int = 3) -> str:
    """Two panels as an SVG data URI: the busiest ward's forecast band, expected count and
    observed count over the list dates (`day_ahead` days on); and, by day ahead for both
    measures, the share inside the band, the band's own probability and the randomised-PIT
    share (dotted) against the goal (green)."""
    rows = result.rows[result.rows["measure"] == "occupied_beds"]
    busiest: tuple[str, str] = rows.groupby(["site", "ward"])["patients"].sum().idxmax()  # type: ignore[assignment]
    ward = rows[
        (rows["site"] == busiest[0])
        & (rows["ward"] == busiest[1])
        & (rows["day_ahead"] == day_ahead)
    ].sort_values("list_date")
    chart = Chart(width=900, height=330)
    x = np.arange(len(ward), dtype=float)
    top = float(max(ward["p90"].max(), ward["observed"].max(), 1)) * 1.1
    left = chart.panel((60, 36, 470, 230), (-0.5, max(len(ward) - 0.5, 0.5)), (0, top))
    col = {c: ward[c].to_numpy(float) for c in ("p10", "p90", "expected", "observed")}
    left.rects(x - 0.4, x + 0.4, col["p10"], col["p90"], ACCENT, opacity=0.25)
    left.line(x, col["expected"], ACCENT)
    left.dots(x, col["observed"], INK, 3.0)
    chart.axes(
        left,
        title=f"{busiest[0]} {busiest[1]}: beds occupied {day_ahead} days on",
        xlabel="list date (in order)",
        ylabel="patients",
    )
    chart.legend(
        left,
        [("80% band", "thick", ACCENT), ("expected", "line", ACCENT), ("observed", "dot", INK)],
        loc="lower left",
    )
    cov = result.coverage(("measure", "day_ahead"))
    ahead = cov["day_ahead"].max() if len(cov) else 1
    right = chart.panel((620, 36, 260, 230), (0.5, ahead + 0.5), (0.5, 1.0))
    right.rects([0.5], [ahead + 0.5], [GOAL[0]], [GOAL[1]], GOOD, opacity=0.2)
    for measure, colour in (("occupied_beds", ACCENT), ("nctr_bed_days", WARN)):
        part = cov[cov["measure"] == measure]
        ahead_x = part["day_ahead"].to_numpy(float)
        right.line(ahead_x, part["coverage"].to_numpy(float), colour, marker=3.0)
        right.line(ahead_x, part["band_mass"].to_numpy(float), colour, dash="4.5 2")
        right.line(ahead_x, part["pit_coverage"].to_numpy(float), colour, width=3.4, dash="1 3")
    chart.axes(right, title="Share inside the 80% band", xlabel="days ahead", xbins=4)
    chart.legend(
        right,
        [("occupied", "marker-line", ACCENT), ("NCTR", "marker-line", WARN),
         ("band's own", "dashed", MUTED), ("PIT share (dotted)", "thick", MUTED)],
        loc="lower left",
    )  # fmt: skip
    return chart.to_data_uri()
