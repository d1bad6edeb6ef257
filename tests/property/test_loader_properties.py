"""Property tests: malformed rows never crash validation, and the rows that pass fit the schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.validate import QUARANTINE_COLUMNS, validate_admissions
from los.errors import LosError, MissingColumnError
from los.schema import COLUMNS, Column

JUNK = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1)),
)
ISO_DAY = st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2025, 1, 1))


def plausible(col: Column) -> st.SearchStrategy[Any]:
    """Values that are often valid, so that valid rows also occur."""
    if col.codes is not None:
        return st.sampled_from(col.codes)
    if col.kind == "datetime":
        return ISO_DAY.map(lambda d: d.isoformat(sep=" "))
    if col.kind in ("int", "float"):
        lo, hi = int(col.minimum or 0), int(col.maximum or 100)
        return st.integers(lo, hi).map(str)
    if col.name == "spell_id":
        return st.sampled_from(["S1", "S2", "S3", "S4", "S5", "S6"])
    return st.sampled_from(["A1", "B2", "300"])


@st.composite
def admissions_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=8))
    data: dict[str, list[Any]] = {}
    for col in COLUMNS:
        if draw(st.integers(0, 19)) == 0:  # now and then a column is absent
            continue
        cell = st.one_of(plausible(col), plausible(col), JUNK)
        data[col.name] = draw(st.lists(cell, min_size=n, max_size=n))
    data["extra"] = list(range(n))
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def assert_fits_schema(valid: pd.DataFrame) -> None:
    """Check every rule of CONTRACT §1 on the valid frame, independently of the validator."""
    assert list(valid.columns[: len(COLUMNS)]) == [c.name for c in COLUMNS]
    assert valid.index.equals(pd.RangeIndex(len(valid)))
    for col in COLUMNS:
        values = valid[col.name]
        if col.kind == "str":
            assert pd.api.types.is_string_dtype(values.dtype)
            assert (values.dropna() == values.dropna().str.strip()).all()
        elif col.kind == "datetime":
            assert values.dtype == "datetime64[ns]"
        else:
            assert values.dtype == "float64"
            known = values.dropna()
            assert np.isfinite(known).all()
            if col.kind == "int":
                assert (known % 1 == 0).all()
            assert (known >= col.minimum).all() and (known <= col.maximum).all()
        if col.required and not col.nullable:
            assert values.notna().all(), col.name
        if col.codes is not None:
            assert values.dropna().isin(col.codes).all(), col.name
    assert valid["ethnic_category"].notna().all()
    adm, dis = valid["admission_datetime"], valid["discharge_datetime"]
    ready = valid["discharge_ready_datetime"]
    assert not (dis < adm).any()
    assert not ((ready < adm) | (ready > dis)).any()
    assert valid["spell_id"].is_unique


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=admissions_frames(), limit=st.sampled_from([0.0, 0.05, 1.0]))
def test_validation_never_crashes_and_keeps_counts(frame: pd.DataFrame, limit: float) -> None:
    before = frame.copy()
    try:
        valid, quarantine, report = validate_admissions(frame, max_bad_share=limit)
    except MissingColumnError as exc:
        assert all(c not in frame.columns for c in exc.columns)
        return
    except LosError:
        assert limit < 1.0  # only the bad-share limit may stop a run with all columns present
        return
    finally:
        pd.testing.assert_frame_equal(frame, before)
    assert report.rows_in == len(frame) == report.rows_valid + report.rows_quarantined
    assert len(valid) == report.rows_valid
    assert list(quarantine.columns) == list(QUARANTINE_COLUMNS)
    assert quarantine["row"].nunique() == report.rows_quarantined
    assert quarantine["row"].between(1, len(frame)).all()
    assert sum(report.by_reason.values()) == len(quarantine)
    assert (quarantine["value"].str.len() <= 50).all()
    assert_fits_schema(valid)
    # valid rows keep their input order and their extra column untouched
    kept = sorted(set(range(1, len(frame) + 1)) - set(quarantine["row"]))
    assert valid["extra"].tolist() == [r - 1 for r in kept]


@settings(max_examples=40, deadline=None)
@given(days=st.lists(ISO_DAY, min_size=1, max_size=6), stay=st.integers(-3, 30))
def test_discharge_rules_on_dates(days: list[datetime], stay: int) -> None:
    n = len(days)
    frame = pd.DataFrame(
        {
            "spell_id": [f"S{i}" for i in range(n)],
            "patient_id": "P",
            "site": "X",
            "admission_datetime": days,
            "age": 50,
            "sex": "1",
            "ethnic_category": None,
            "admission_method": "21",
            "discharge_datetime": [d + timedelta(days=stay) for d in days],
        }
    )
    _, quarantine, report = validate_admissions(frame, max_bad_share=1.0)
    assert report.rows_valid == (n if stay >= 0 else 0)
    assert set(quarantine["column"]) <= {"discharge_datetime"}
