"""Fairness groups: NHS ethnic groups and categories, sex, age band, IMD quintile (CONTRACT §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.groups import (
    ORDER,
    age_band,
    assign_groups,
    ethnic_category,
    ethnic_group,
    group_label,
    group_order,
    imd_quintile,
    sex,
)


def _frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("code", "group"),
    [
        *[(c, "White") for c in "ABC"],
        *[(c, "Mixed") for c in "DEFG"],
        *[(c, "Asian or Asian British") for c in "HJKL"],
        *[(c, "Black or Black British") for c in "MNP"],
        *[(c, "Other") for c in "RS"],
        ("Z", "Not stated"),
        ("99", "Not known"),
        (None, "Not known"),
        ("", "Not known"),
        ("  ", "Not known"),
        ("X", "Not known"),
        ("a", "White"),
        (" m ", "Black or Black British"),
    ],
)
def test_ethnic_group_of_every_code(code: str | None, group: str) -> None:
    assert ethnic_group(_frame(ethnic_category=[code])).tolist() == [group]


def test_not_stated_and_not_known_are_separate_rows_never_dropped() -> None:
    frame = _frame(ethnic_category=["Z", "99", None, np.nan, "A"])
    assert ethnic_group(frame).tolist() == [
        "Not stated",
        "Not known",
        "Not known",
        "Not known",
        "White",
    ]
    assert ethnic_category(frame).tolist() == ["Z", "99", "99", "99", "A"]
    assert ORDER["ethnic_group"] == (
        "White",
        "Mixed",
        "Asian or Asian British",
        "Black or Black British",
        "Other",
        "Not stated",
        "Not known",
    )
    assert len(ORDER["ethnic_category"]) == 18  # 16 detailed categories + Z + 99


def test_missing_ethnicity_column_means_not_known() -> None:
    frame = _frame(age=[40, 50])
    assert ethnic_group(frame).tolist() == ["Not known", "Not known"]
    assert imd_quintile(frame).tolist() == ["Not known", "Not known"]


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-17"),
        (17, "0-17"),
        (17.9, "0-17"),
        (18, "18-44"),
        (44, "18-44"),
        (45, "45-64"),
        (64, "45-64"),
        (65, "65-74"),
        (74, "65-74"),
        (75, "75-84"),
        (84, "75-84"),
        (85, "85+"),
        (120, "85+"),
        (np.nan, "Not known"),
    ],
)
def test_age_band_edges(age: float, band: str) -> None:
    assert age_band(_frame(age=[age])).tolist() == [band]


@pytest.mark.parametrize(
    ("decile", "quintile"),
    [
        (1, "1"),
        (2, "1"),
        (3, "2"),
        (4, "2"),
        (5, "3"),
        (6, "3"),
        (7, "4"),
        (8, "4"),
        (9, "5"),
        (10, "5"),
        (np.nan, "Not known"),
        (0, "Not known"),
        (11, "Not known"),
    ],
)
def test_imd_quintile_from_decile(decile: float, quintile: str) -> None:
    assert imd_quintile(_frame(imd_decile=[decile])).tolist() == [quintile]


def test_sex_codes_and_float_like_codes() -> None:
    frame = _frame(sex=["1", "2", "9", "0", None, "1.0", 2])
    assert sex(frame).tolist() == [
        "Male",
        "Female",
        "Indeterminate",
        "Not known",
        "Not known",
        "Male",
        "Female",
    ]


def test_assign_groups_keeps_index_and_rejects_unknown_attribute() -> None:
    frame = _frame(
        ethnic_category=["A", "N"], sex=["1", "2"], age=[30, 90], imd_decile=[1.0, 10.0]
    ).set_index(pd.Index([10, 3]))
    groups = assign_groups(frame)
    assert list(groups.index) == [10, 3]
    assert groups.loc[3].to_dict() == {
        "ethnic_group": "Black or Black British",
        "ethnic_category": "N",
        "sex": "Female",
        "age_band": "85+",
        "imd_quintile": "5",
        "ethnicity_deprivation": "Black or Black British, not Core20",
    }
    assert groups.loc[10, "ethnicity_deprivation"] == "White, Core20"
    with pytest.raises(ValueError, match="religion"):
        assign_groups(frame, ["religion"])


def test_group_order_and_labels() -> None:
    assert group_order("sex", ["Male", "Other"])[-1] == "Other"
    assert group_order("age_band")[:2] == ["0-17", "18-44"]
    assert group_label("ethnic_category", "K") == "K Asian or Asian British: Bangladeshi"
    assert group_label("imd_quintile", "1") == "1 (most deprived, Core20)"
    assert group_label("sex", "Female") == "Female"
