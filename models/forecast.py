"""The ward bed forecast (CONTRACT §7): per site and ward and per day ahead, how many of today's
inpatients will still be in a bed, and how many of those beds will be held by patients past their
discharge-ready date (NCTR bed-days), as exact distributions (`models.poisson_binomial`).

One function builds it (`build_forecast`) from a census (`models.census.select_census`, the risk
list's rule for who is in and on which date) and a `BedProvider` (`models.bed_provider`);
`forecast_spells` (used by `los forecast` and `POST /v1/forecast`) chooses the provider: the stay
distribution model when one is served, else the Kaplan-Meier baseline with the reason
(`models.stay_provider`); one writes it as CSV, HTML or JSON by extension (`write_forecast`).
New admissions are not forecast: the counts are of today's inpatients only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.export import csv_text
from los.errors import DataSourceError
from models.bed_provider import BedProvider
from models.census import census_notes, list_date, select_census, site_known
from models.forecast_render import render_forecast
from models.poisson_binomial import CountSummary, count_distribution, summarise
from models.printable import write_by_suffix
from models.scorer import Scorer
from models.stay_provider import choose_provider
from models.stay_table import StayTable, as_known_at

DEFAULT_DAYS = 7
MEASURES: dict[str, str] = {
    "occupied_beds": "beds still occupied by today's inpatients",
    "nctr_bed_days": "of those, beds held by patients past their discharge-ready date",
}
ASSUMPTION = "patients are independent; new admissions are not included"


@dataclass(frozen=True)
class DayForecast:
    """One day ahead for one ward (or a whole site)."""

    day: int  # 1 = the midnight census at the end of the day after the list date
    on: date
    occupied_beds: CountSummary
    nctr_bed_days: CountSummary


@dataclass(frozen=True)
class GroupForecast:
    """A ward's (or, with `ward` None, a whole site's) forecast."""

    site: str
    ward: str | None
    patients: int
    days: list[DayForecast]

    @property
    def nctr_bed_days_total(self) -> float:
        """Expected NCTR bed-days over the forecast's days."""
        return float(sum(d.nctr_bed_days.expected for d in self.days))

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout of one group."""
        return {
            "site": self.site,
            "ward": self.ward,
            "patients": self.patients,
            "nctr_bed_days_expected_total": round(self.nctr_bed_days_total, 3),
            "days": [
                {
                    "day": d.day,
                    "date": d.on.isoformat(),
                    "occupied_beds": d.occupied_beds.to_dict(),
                    "nctr_bed_days": d.nctr_bed_days.to_dict(),
                }
                for d in self.days
            ],
        }


@dataclass(frozen=True)
class Forecast:
    """The forecast for every ward and site, and what produced it."""

    list_date: date
    list_date_rule: str
    days: int
    at_least: tuple[int, ...]
    provider: str
    wards: list[GroupForecast]
    sites: list[GroupForecast]
    generated_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # why `provider` is not the stay distribution model (None when it is): the fallback's reason
    provider_reason: str | None = None

    @property
    def provider_text(self) -> str:
        """Which model the estimates rest on and, on the fallback, why (for the console)."""
        return self.provider + (f" ({self.provider_reason})" if self.provider_reason else "")

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout (the CLI's .json and `POST /v1/forecast`)."""
        return {
            "list_date": self.list_date.isoformat(),
            "list_date_rule": self.list_date_rule,
            "days": self.days,
            "at_least": list(self.at_least),
            "provider": self.provider,
            "provider_reason": self.provider_reason,
            "assumption": ASSUMPTION,
            "measures": MEASURES,
            "notes": self.notes,
            "counts": self.counts,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "wards": [g.to_dict() for g in self.wards],
            "sites": [g.to_dict() for g in self.sites],
        }

    def to_csv(self) -> str:
        """The CSV layout as text, with formula-like cells defused (`features.export`)."""
        return csv_text(self.to_frame())

    def to_frame(self) -> pd.DataFrame:
        """One row per site, ward (blank: all wards), day ahead and measure (the CSV layout)."""
        records = []
        for g in [*self.wards, *self.sites]:
            for d in g.days:
                for measure in MEASURES:
                    summary: CountSummary = getattr(d, measure)
                    records.append(
                        {
                            "site": g.site,
                            "ward": g.ward if g.ward is not None else "All wards",
                            "date": d.on.isoformat(),
                            "day_ahead": d.day,
                            "measure": measure,
                            "patients_now": g.patients,
                        }
                        | summary.to_dict()
                    )
        columns = ["site", "ward", "date", "day_ahead", "measure", "patients_now"]
        columns += ["expected", "p10", "p50", "p90"] + [f"p_at_least_{n}" for n in self.at_least]
        return pd.DataFrame(records, columns=columns).assign(
            list_date=self.list_date.isoformat(),
            provider=self.provider,
            provider_reason=self.provider_reason or "",
        )


def _group(
    site: str, ward: str | None, rows: np.ndarray, probs: Any, on: date, at_least: tuple[int, ...]
) -> GroupForecast:
    beds = count_distribution(probs.in_bed[rows])
    waiting = count_distribution(probs.nctr[rows])
    days = [
        DayForecast(
            day=h + 1,
            on=on + timedelta(days=h + 1),
            occupied_beds=summarise(beds[h], at_least),
            nctr_bed_days=summarise(waiting[h], at_least),
        )
        for h in range(beds.shape[0])
    ]
    return GroupForecast(site=site, ward=ward, patients=int(rows.size), days=days)


def build_forecast(
    frame: pd.DataFrame,
    provider: BedProvider,
    on: date | None = None,
    days: int = DEFAULT_DAYS,
    at_least: tuple[int, ...] = (),
    site: str | None = None,
    *,
    unknown_site_is_error: bool = True,
    today: date | None = None,
) -> Forecast:
    """Forecast the current inpatients of `frame` (rows without a discharge) on the list date.

    The list date and census follow the risk list (`models.census`); the origin is the midnight
    census at the end of the list date. `provider` gives each patient's probabilities.
    """
    if days < 1:
        raise DataSourceError("days ahead must be at least 1")
    at_least = tuple(dict.fromkeys(at_least))  # each N once, in the order asked
    known = site_known(frame, site, strict=unknown_site_is_error)
    chosen = on is None
    census, on, rule, counts = select_census(frame, on, site, today or datetime.now(UTC).date())
    origin = pd.Timestamp(on) + pd.Timedelta(days=1)
    probs = provider.bed_probabilities(census, origin, days)
    sites = census["site"].astype(str).to_numpy() if len(census) else np.array([], dtype=str)
    wards = (
        census["ward"].astype("string").fillna("not recorded").astype(str).to_numpy()
        if "ward" in census and len(census)
        else np.full(len(census), "not recorded", dtype=object)
    )
    ward_groups = [
        _group(str(s), str(w), np.flatnonzero((sites == s) & (wards == w)), probs, on, at_least)
        for s, w in sorted(set(zip(sites, wards, strict=True)))
    ]
    site_groups = [
        _group(s, None, np.flatnonzero(sites == s), probs, on, at_least) for s in sorted(set(sites))
    ]
    return Forecast(
        list_date=on,
        list_date_rule=rule,
        days=days,
        at_least=at_least,
        provider=provider.name,
        wards=ward_groups,
        sites=site_groups,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        counts=counts,
        notes=census_notes(counts, site, known, chosen),
    )


def write_forecast(result: Forecast, path: str | Path) -> Path:
    """Write the forecast as CSV, HTML or JSON by extension; returns the path."""
    return write_by_suffix(result, path, "forecast", render_forecast)


# the optional discharge columns (CONTRACT §1) the forecast reads: absent means still in
DISCHARGE_COLUMNS = ("discharge_datetime", "discharge_ready_datetime")


def forecast_spells(
    frame: pd.DataFrame,
    scorer: Scorer | None = None,
    missing: str | None = None,
    on: date | None = None,
    days: int = DEFAULT_DAYS,
    at_least: tuple[int, ...] = (),
    site: str | None = None,
    history: pd.DataFrame | None = None,
    *,
    unknown_site_is_error: bool = True,
    today: date | None = None,
) -> Forecast:
    """`build_forecast` of the current inpatients of `frame` on the list date, from the stay
    distribution model when `scorer` holds one, else from the Kaplan-Meier baseline
    (`models.stay_provider.choose_provider`; `missing`: why there is no stay champion, said on
    every output as `provider_reason`). Curves and history features use the spells of `frame`
    (and `history`) as known at the origin, so nothing after the list date is used: a past `on`
    forecasts the patients in hospital then (discharges after it are not seen). Absent
    discharge columns (a census of current inpatients only) mean no discharge yet."""
    missing_columns = [c for c in DISCHARGE_COLUMNS if c not in frame]
    if missing_columns:
        frame = frame.copy()
        for column in missing_columns:
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    today = today or datetime.now(UTC).date()
    site_known(frame, site, strict=unknown_site_is_error)
    chosen, _ = list_date(pd.to_datetime(frame["admission_datetime"]), on, today)
    spells = frame if history is None else pd.concat([history, frame], ignore_index=True)
    if history is not None and "spell_id" in spells:
        spells = spells.drop_duplicates("spell_id", keep="last")
    origin = pd.Timestamp(chosen) + pd.Timedelta(days=1)
    choice = choose_provider(spells, origin, scorer, missing)
    if choice.provider is None:  # no ended spell to learn from: no forecast, said in words
        _, on_date, rule, counts = select_census(frame, on, site, today)
        return Forecast(
            list_date=on_date, list_date_rule=rule, days=days,
            at_least=tuple(dict.fromkeys(at_least)), provider=StayTable.name, wards=[], sites=[],
            generated_at=datetime.now(UTC).replace(microsecond=0), counts=counts,
            notes=[choice.problem or "no forecast"],
            provider_reason=choice.reason,
        )  # fmt: skip
    result = build_forecast(
        as_known_at(frame, origin, drop_later=False), choice.provider, on, days, at_least, site,
        unknown_site_is_error=unknown_site_is_error, today=today,
    )  # fmt: skip
    return dataclasses.replace(result, provider_reason=choice.reason)


def baseline_forecast(
    frame: pd.DataFrame,
    on: date | None = None,
    days: int = DEFAULT_DAYS,
    at_least: tuple[int, ...] = (),
    site: str | None = None,
    history: pd.DataFrame | None = None,
    *,
    unknown_site_is_error: bool = True,
    today: date | None = None,
) -> Forecast:
    """`forecast_spells` with the Kaplan-Meier baseline (`models.stay_table`) whatever is
    registered: the backtest's reference and the forecast without a model registry."""
    return forecast_spells(
        frame, None, None, on, days, at_least, site, history,
        unknown_site_is_error=unknown_site_is_error, today=today,
    )  # fmt: skip
