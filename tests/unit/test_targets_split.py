"""Targets (CONTRACT §2) and the temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from los.config import SplitConfig, TargetsConfig
from los.targets import Target, label, targets_from_config
from tests.factories import admission, frame
from training.split import assign_periods, split_boundaries

T = pd.Timestamp


def test_default_targets_and_registered_names() -> None:
    targets = targets_from_config(TargetsConfig())
    assert [t.name for t in targets] == ["long_stay", "long_stay_21", "nctr"]
    assert [t.registered_name for t in targets] == ["los-long-stay", "los-long-stay-21", "los-nctr"]
    custom = targets_from_config(TargetsConfig(long_stay_days=21, extra_long_stay_days=[14, 21]))
    assert [t.name for t in custom] == ["long_stay", "long_stay_14", "nctr"]


def test_long_stay_labels_deaths_kept_and_inpatients_skipped() -> None:
    df = frame(
        admission(discharge_datetime=T("2024-01-17 10:00")),  # exactly 7 days
        admission(discharge_datetime=T("2024-01-17 09:59")),  # just under
        admission(discharge_datetime=T("2024-02-10"), discharge_destination="79"),
        admission(discharge_datetime=pd.NaT),
    )
    y = label(df, Target("long_stay", "long_stay", 7))
    assert y.tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(y.iloc[3])
    excl = label(df, targets_from_config(TargetsConfig(exclude_deaths_from_long_stay=True))[0])
    assert np.isnan(excl.iloc[2])


def test_nctr_from_ready_date_and_proxies() -> None:
    nctr = Target("nctr", "nctr")
    df = frame(
        admission(discharge_ready_datetime=T("2024-01-14 12:00")),  # 1 day delay
        admission(discharge_ready_datetime=T("2024-01-15 00:00")),  # 12 hours
        admission(discharge_ready_datetime=pd.NaT, discharge_pathway=2.0),
        admission(discharge_ready_datetime=pd.NaT, discharge_pathway=1.0),
        admission(discharge_destination="79", discharge_ready_datetime=T("2024-01-11")),
        admission(
            discharge_ready_datetime=pd.NaT, discharge_pathway=np.nan, discharge_destination="54"
        ),
    )
    y = label(df, nctr)
    assert y.tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(y.iloc[4])  # deaths excluded
    assert np.isnan(y.iloc[5])  # nothing to judge by
    by_dest = label(df, targets_from_config(TargetsConfig(nctr_proxy="destination"))[-1])
    assert by_dest.iloc[5] == 1.0 and by_dest.iloc[3] == 0.0


@settings(max_examples=30, deadline=None)
@given(days=st.lists(st.floats(0, 900), min_size=4, max_size=200))
def test_temporal_split_is_ordered_and_complete(days: list[float]) -> None:
    admitted = pd.Series(T("2023-01-01") + pd.to_timedelta(days, unit="D"))
    bounds = split_boundaries(admitted, SplitConfig())
    period = assign_periods(admitted, bounds)
    assert period.isin(["train", "validation", "calibration", "test"]).all()
    order = {"train": 0, "validation": 1, "calibration": 2, "test": 3}
    rank = period.map(order)
    # a later admission is never in an earlier period
    srt = rank.iloc[np.argsort(admitted.to_numpy(), kind="stable")].to_numpy()
    assert (np.diff(srt) >= 0).all()


def test_split_dates_from_config() -> None:
    admitted = pd.Series(pd.date_range("2023-01-01", "2024-12-31", freq="D"))
    cfg = SplitConfig(
        train_end="2024-01-01", validation_end="2024-04-01", calibration_end="2024-07-01"
    )
    period = assign_periods(admitted, split_boundaries(admitted, cfg))
    assert period[admitted < T("2024-01-01")].eq("train").all()
    assert period[admitted >= T("2024-07-01")].eq("test").all()
