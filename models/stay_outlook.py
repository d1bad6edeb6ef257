"""Each listed patient's stay outlook in plain words, from a bed provider's curves.

"likely home 12–19 June; may wait about 4 days once medically ready": the likely discharge
dates are the 10th and 90th percentiles of the discharge date given the days already stayed
(P(left by the end of that day) >= 0.1 and >= 0.9), and the wait is the expected number of
nights in a bed past the discharge-ready date (the sum over the next `HORIZON` nights of
P(in a bed and past ready)). A ward's expected waiting bed-days this week sums its patients'
next seven nights. `with_outlook` adds these to a built risk list; without it the list is as
before (the outlook is shown only when a provider with curves is given).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from models.bed_provider import BedProvider
from models.census import select_census
from models.risk_list_result import RiskList

HORIZON = 60  # nights ahead the outlook reads
WEEK = 7


@dataclass(frozen=True)
class StayOutlook:
    """One patient's likely discharge dates and expected wait once medically ready."""

    earliest: date  # 10th percentile of the discharge date
    latest: date | None  # 90th percentile; None: later than the horizon
    nctr_days: float  # expected nights in a bed past the ready date
    nctr_days_week: float  # of those, in the next seven nights

    @property
    def text(self) -> str:
        """The outlook in a sentence a ward nurse reads aloud."""
        if self.latest is None:
            words = f"likely home after {_day(self.earliest)}, possibly much later"
        elif self.latest == self.earliest:
            words = f"likely home {_day(self.earliest)}"
        else:
            words = f"likely home {_span(self.earliest, self.latest)}"
        wait = round(self.nctr_days)
        if wait >= 1:
            words += f"; may wait about {wait} day{'s' if wait != 1 else ''} once medically ready"
        return words

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout."""
        return {
            "likely_discharge_earliest": self.earliest.isoformat(),
            "likely_discharge_latest": self.latest.isoformat() if self.latest else None,
            "nctr_expected_days": round(self.nctr_days, 2),
            "text": self.text,
        }


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%B')}"


def _span(a: date, b: date) -> str:
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b.strftime('%B')}"
    return f"{_day(a)} – {_day(b)}"


def stay_outlooks(
    census: pd.DataFrame, on: date, provider: BedProvider, horizon: int = HORIZON
) -> list[StayOutlook]:
    """One outlook per census row (current inpatients on the list date `on`)."""
    if not len(census):
        return []
    origin = pd.Timestamp(on) + pd.Timedelta(days=1)
    probs = provider.bed_probabilities(census, origin, horizon)
    gone = 1.0 - probs.in_bed  # P(left by the end of list date + h), h = 1..horizon
    out = []
    for i in range(len(census)):
        lo = int(np.searchsorted(gone[i], 0.1 - 1e-12))
        hi = int(np.searchsorted(gone[i], 0.9 - 1e-12))
        out.append(
            StayOutlook(
                earliest=on + timedelta(days=min(lo, horizon - 1) + 1),
                latest=on + timedelta(days=hi + 1) if hi < horizon else None,
                nctr_days=float(probs.nctr[i].sum()),
                nctr_days_week=float(probs.nctr[i, :WEEK].sum()),
            )
        )
    return out


def with_outlook(
    result: RiskList, frame: pd.DataFrame, provider: BedProvider, today: date | None = None
) -> RiskList:
    """`result` with each listed patient's outlook (by spell) from `provider`, on its census."""
    census, *_ = select_census(
        frame, result.list_date, result.site, today or datetime.now(UTC).date()
    )
    found = stay_outlooks(census, result.list_date, provider)
    by_spell = dict(zip(census["spell_id"].astype(str), found, strict=True))
    return dataclasses.replace(result, outlooks=by_spell, outlook_source=provider.name)


def ward_waiting(result: RiskList) -> tuple[dict[tuple[str, str | None], float], dict[str, float]]:
    """Expected bed-days past the ready date in the next seven nights, per (site, ward) and per
    site."""
    wards: dict[tuple[str, str | None], float] = {}
    sites: dict[str, float] = {}
    for row in result.rows:
        outlook = result.outlooks.get(row.spell_id)
        if outlook is not None:
            wards[(row.site, row.ward)] = (
                wards.get((row.site, row.ward), 0.0) + outlook.nctr_days_week
            )
            sites[row.site] = sites.get(row.site, 0.0) + outlook.nctr_days_week
    return wards, sites
