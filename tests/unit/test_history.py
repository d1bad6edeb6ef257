"""History features: counts only spells that ended before the admission, within 365 days."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.history import compute_history
from tests.factories import admission, frame, random_admissions

T = pd.Timestamp


def test_counts_prior_spells_in_window_only() -> None:
    spells = frame(
        admission(
            spell_id="old", admission_datetime=T("2022-01-01"), discharge_datetime=T("2022-01-05")
        ),  # > 365 days before
        admission(
            spell_id="a",
            admission_datetime=T("2023-06-01"),
            discharge_datetime=T("2023-06-11"),
            admission_method="21",
        ),
        admission(
            spell_id="b",
            admission_datetime=T("2023-09-01"),
            discharge_datetime=T("2023-09-03"),
            admission_method="11",
        ),
        admission(
            spell_id="now", admission_datetime=T("2024-01-01"), discharge_datetime=T("2024-02-01")
        ),
    )
    h = compute_history(spells)
    now = h.iloc[3]
    assert now["prior_admissions_365d"] == 2
    assert now["prior_emergency_admissions_365d"] == 1
    assert now["prior_bed_days_365d"] == pytest.approx(12.0)
    assert now["days_since_last_discharge"] == pytest.approx(
        (T("2024-01-01") - T("2023-09-03")).days
    )
    assert h.iloc[0]["prior_admissions_365d"] == 0
    assert pd.isna(h.iloc[0]["days_since_last_discharge"])


def test_spell_still_open_or_ending_after_admission_never_counts() -> None:
    spells = frame(
        admission(
            spell_id="overlap",
            admission_datetime=T("2024-01-01"),
            discharge_datetime=T("2024-01-20"),
        ),
        admission(spell_id="open", admission_datetime=T("2023-12-01"), discharge_datetime=pd.NaT),
        admission(
            spell_id="now", admission_datetime=T("2024-01-10"), discharge_datetime=T("2024-01-12")
        ),
    )
    h = compute_history(spells)
    assert h.loc[2, "prior_admissions_365d"] == 0


def test_other_patients_never_count() -> None:
    spells = frame(
        admission(
            spell_id="x",
            patient_id="P2",
            admission_datetime=T("2023-12-01"),
            discharge_datetime=T("2023-12-05"),
        ),
        admission(spell_id="now", patient_id="P1", admission_datetime=T("2024-01-10")),
    )
    assert compute_history(spells).loc[1, "prior_admissions_365d"] == 0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 10_000))
def test_future_spells_cannot_change_history(n: int, seed: int) -> None:
    """Adding spells that end after an admission never changes that admission's history."""
    spells = random_admissions(n, seed)
    base = compute_history(spells)
    cutoff = spells["admission_datetime"].min()
    future = spells.assign(
        spell_id=spells["spell_id"] + "f",
        admission_datetime=spells["admission_datetime"] + pd.Timedelta(days=800),
        discharge_datetime=spells["discharge_datetime"] + pd.Timedelta(days=800),
    )
    both = pd.concat([spells, future], ignore_index=True)
    again = compute_history(both).iloc[: len(spells)]
    pd.testing.assert_frame_equal(base.reset_index(drop=True), again.reset_index(drop=True))
    assert (base["prior_admissions_365d"] >= 0).all()
    assert cutoff is not None
