"""The §7 columns of a scored row: conditional quantiles for inpatients, the API body's fields."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from models.stay_scores import STAY_COLUMNS, days_stayed, stay_rows
from serving.responses import result_rows
from serving.schemas import ScoreOut


def test_days_stayed_counts_only_current_inpatients() -> None:
    rows = {
        "admission_datetime": np.array(["2025-01-01T00:00", "2025-01-03T12:00"], dtype=object),
        "discharge_datetime": np.array(["2025-01-02T00:00", None], dtype=object),
    }
    stayed = days_stayed(rows, pd.Timestamp("2025-01-05T12:00"))
    np.testing.assert_allclose(stayed, [0.0, 2.0])
    np.testing.assert_allclose(days_stayed(rows, None), [0.0, 0.0])


@pytest.mark.parametrize("with_model", [True, False])
def test_bodies_carry_the_stay_fields_and_validate(with_model: bool) -> None:
    stay = (
        {
            "los_p10_days": [1.5],
            "los_median_days": [4.0],
            "los_p90_days": [12.25],
            "expected_discharge_date": ["2025-01-05"],
            "nctr_expected_days": [None],
        }
        if with_model
        else {}
    )
    bodies = result_rows(["S1"], {}, {}, stay)
    assert set(STAY_COLUMNS) <= set(bodies[0])
    sent = json.dumps(bodies)
    validated = TypeAdapter(list[ScoreOut]).validate_json(sent)
    assert [v.model_dump(mode="json") for v in validated] == json.loads(sent)
    assert bodies[0]["los_median_days"] == (4.0 if with_model else None)
    assert stay_rows(stay, 1)[0]["los_p90_days"] == (12.25 if with_model else None)


def test_discharge_dates_match_pandas_for_any_admission_time() -> None:
    from models.stay_scores import discharge_dates

    rng = np.random.default_rng(8)
    seconds = rng.integers(-2_200_000_000, 5_000_000_000, 400)  # 1900 to 2128
    times = np.array(seconds, dtype="datetime64[s]").astype("datetime64[ns]")
    times[::37] = np.datetime64("NaT")
    median = np.round(rng.exponential(6.0, 400), 2)
    median[::50] = 0.0
    index = pd.DatetimeIndex(times) + pd.to_timedelta(median, unit="D")
    want = [None if pd.isna(d) else d.isoformat() for d in index.date]
    assert discharge_dates(times, median) == want
    as_text = np.array([None if np.isnat(t) else str(t) for t in times], dtype=object)
    assert discharge_dates(as_text, median) == want  # text goes through pd.to_datetime
