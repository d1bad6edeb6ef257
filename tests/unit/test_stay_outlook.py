"""The risk list's stay outlook: likely discharge dates and the wait once ready, in words, from
a bed provider's curves; absent from every output when no provider is given."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from models.bed_provider import SurvivalProvider
from models.list_render import render_risk_list
from models.risk_list import GroupSummary, RiskList, RiskListRow
from models.stay_outlook import StayOutlook, stay_outlooks, ward_waiting, with_outlook

ON = date(2025, 6, 10)


def _census() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "spell_id": ["a", "b"],
            "patient_id": ["p1", "p2"],
            "site": "S1",
            "ward": ["W1", "W1"],
            "admission_datetime": [pd.Timestamp("2025-06-10 23:00")] * 2,
            "discharge_datetime": [pd.NaT, pd.NaT],
        }
    )


def _provider() -> SurvivalProvider:
    days = np.arange(61)
    survival = np.vstack([np.clip(1 - days / 10, 0, 1), np.ones(61)])  # b never leaves
    share = np.vstack([np.full(61, 0.5), np.zeros(61)])
    return SurvivalProvider(survival, share, name="test curves")


def _result() -> RiskList:
    when = datetime(2025, 6, 10, 23, 0)
    rows = [
        RiskListRow(
            rank=i + 1, spell_id=s, patient_id=f"p{i + 1}", site="S1", ward="W1",
            specialty="300", admission_datetime=when, days_in_hospital=0, combined_risk=0.5,
            risk_band="medium", flagged=False, probabilities={}, bands={}, model_flags={},
            reasons={},
        )
        for i, s in enumerate(["a", "b"])
    ]  # fmt: skip
    group = GroupSummary(site="S1", ward="W1", patients=2, flagged=0, expected={})
    site = GroupSummary(site="S1", ward=None, patients=2, flagged=0, expected={})
    return RiskList(
        list_date=ON, generated_at=datetime.now(UTC), site=None, capacity=None, rows=rows,
        wards=[group], sites=[site], models={}, definitions={},
    )  # fmt: skip


def test_dates_are_the_10th_and_90th_percentiles_given_days_stayed() -> None:
    a, b = stay_outlooks(_census(), ON, _provider())
    # a: elapsed ~1/24 day; P(left by night h) = 1 - (10 - h - 1/24) / (10 - 1/24)
    gone = 1 - np.clip((10 - np.arange(1, 61) - 1 / 24) / (10 - 1 / 24), 0, 1)
    first = int(np.argmax(gone >= 0.1)) + 1
    last = int(np.argmax(gone >= 0.9)) + 1
    assert a.earliest == date(2025, 6, 10 + first) and a.latest == date(2025, 6, 10 + last)
    expected_wait = float(0.5 * (1 - gone).sum())
    assert abs(a.nctr_days - expected_wait) < 1e-9
    assert abs(a.nctr_days_week - 0.5 * (1 - gone[:7]).sum()) < 1e-9
    assert b.latest is None and b.nctr_days == 0.0


def test_outlook_words() -> None:
    both = StayOutlook(date(2025, 6, 12), date(2025, 6, 19), 4.2, 3.0)
    assert both.text == "likely home 12–19 June; may wait about 4 days once medically ready"
    across = StayOutlook(date(2025, 6, 28), date(2025, 7, 3), 0.3, 0.3)
    assert across.text == "likely home 28 June – 3 July"
    later = StayOutlook(date(2025, 6, 28), None, 1.0, 1.0)
    assert later.text.startswith("likely home after 28 June") and "about 1 day " in later.text


def test_risk_list_shows_the_outlook_only_when_given() -> None:
    plain = _result()
    assert "discharge_outlook" not in plain.to_frame().columns
    assert "outlook" not in json.dumps(plain.to_dict())
    assert "Likely home" not in render_risk_list(plain)
    shown = with_outlook(plain, _census(), _provider(), today=ON)
    table = shown.to_frame()
    assert table["discharge_outlook"].iloc[0].startswith("likely home")
    assert pd.isna(table["likely_discharge_latest"].iloc[1])  # later than the horizon
    payload = shown.to_dict()
    assert payload["patients"][0]["outlook"]["text"] == table["discharge_outlook"].iloc[0]
    wards, sites = ward_waiting(shown)
    week = shown.outlooks["a"].nctr_days_week
    assert payload["nctr_bed_days_this_week"]["wards"][0]["expected"] == round(week, 2)
    assert sites == {"S1": week} and wards == {("S1", "W1"): week}
    page = render_risk_list(shown)
    assert "Likely home" in page and "waiting once ready, next 7 days" in page
    assert f"{week:.1f}" in page
