"""The stay model's NCTR share, and which provider a forecast rests on without a stay model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.forecast import forecast_spells
from models.stay_curve import HORIZON, StayCurves
from models.stay_provider import NO_STAY_MODEL, choose_provider, nctr_share
from models.stay_table import StayTable


def _fixed_stay(days: int) -> StayCurves:
    """Every spell stays exactly `days` days."""
    hazards = np.zeros((1, HORIZON))
    hazards[0, days] = 1.0
    return StayCurves.from_hazards(hazards)


def test_nctr_share_is_the_last_days_of_the_stay_with_the_nctr_chance() -> None:
    curves = _fixed_stay(30)  # S(d) = 1 up to day 30, 0 after
    share = nctr_share(curves, np.array([0.5]), np.array([4.0]))
    assert share.shape == (1, HORIZON + 1)
    assert np.allclose(share[0, :27], 0.0)  # more than the wait left: not yet ready
    assert np.allclose(share[0, 27:31], 0.5)  # the last four days: waiting with P(NCTR)
    in_bed = curves.survival[0]
    assert float(np.sum(in_bed * share[0])) == pytest.approx(0.5 * 4)  # p * W bed-days


def test_nctr_share_is_zero_without_an_nctr_chance() -> None:
    assert not nctr_share(_fixed_stay(10), np.array([0.0]), np.array([3.0])).any()


def _spells() -> pd.DataFrame:
    admitted = pd.date_range("2024-01-01", periods=40, freq="12h")
    discharged = pd.Series(admitted + pd.Timedelta(days=3)).where(np.arange(40) < 30)
    return pd.DataFrame(
        {
            "spell_id": [f"S{i}" for i in range(40)],
            "patient_id": [f"P{i}" for i in range(40)],
            "site": "RYJ01",
            "ward": "RYJ01-AMU",
            "specialty": "300",
            "age": 70,
            "admission_datetime": admitted,
            "discharge_datetime": discharged,
            "discharge_ready_datetime": pd.NaT,
        }
    )


def test_without_a_stay_model_the_baseline_is_used_and_why_is_said() -> None:
    spells = _spells()
    origin = pd.Timestamp("2024-01-21")
    choice = choose_provider(spells, origin, None, "Stay distribution model not trained")
    assert isinstance(choice.provider, StayTable) and choice.problem is None
    assert choice.reason == "Kaplan-Meier baseline used: Stay distribution model not trained"
    result = forecast_spells(spells, None, None, on=date(2024, 1, 20), days=2)
    assert result.provider == StayTable.name
    assert result.provider_reason == f"Kaplan-Meier baseline used: {NO_STAY_MODEL}"
    frame = result.to_frame()
    assert set(frame["provider_reason"]) == {result.provider_reason}


def test_without_any_ended_spell_there_is_no_forecast_and_the_notes_say_why() -> None:
    census = _spells().assign(discharge_datetime=pd.NaT)
    result = forecast_spells(census, None, "held for review", on=date(2024, 1, 20), days=2)
    assert result.wards == [] and result.notes[0].startswith("no forecast: no spell")
    assert result.provider_reason == "Kaplan-Meier baseline used: held for review"


def test_bed_probabilities_read_the_curve_as_the_models_quantiles_are_read() -> None:
    """With the stay model's within-day shape, P(in bed) between whole days is the curve read
    by that shape (`models.stay_curve.survival_at`), not linearly: the same reading as the
    patient's own interval, so the forecast and the list's dates agree."""
    import numpy as np
    import pandas as pd

    from models.bed_provider import SurvivalProvider
    from models.stay_curve import HORIZON, StayCurves, survival_at
    from models.within_day import STEPS

    hazards = np.tile(np.linspace(0.05, 0.6, HORIZON), (2, 1))  # not geometric: the shape shows
    shape = np.tile(np.linspace(0, 1, STEPS + 1) ** 3, (HORIZON, 1))  # stays end late in a day
    curves = StayCurves.from_hazards(hazards)
    origin = pd.Timestamp("2025-03-10")
    census = pd.DataFrame(
        {"admission_datetime": [origin - pd.Timedelta(hours=30), origin - pd.Timedelta(hours=7)]}
    )
    shaped = SurvivalProvider(curves.survival, None, "m", shape).bed_probabilities(
        census, origin, 3
    )
    linear = SurvivalProvider(curves.survival, None, "m").bed_probabilities(census, origin, 3)
    elapsed = np.array([30 / 24, 7 / 24])
    ahead = elapsed[:, None] + np.arange(1, 4)[None, :]
    expected = survival_at(curves.survival, ahead, shape) / survival_at(
        curves.survival, elapsed[:, None], shape
    )
    np.testing.assert_allclose(shaped.in_bed, expected, rtol=1e-12)
    assert np.abs(shaped.in_bed - linear.in_bed).max() > 1e-3
