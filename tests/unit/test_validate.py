"""Unit tests of features.validate: each rule on a small hand-built frame, naming row and column."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from features.validate import VALUE_MAX_CHARS, ValidationReport, validate_admissions
from los.errors import DataQualityError, DataSourceError, MissingColumnError
from los.schema import COLUMNS, REQUIRED_COLUMNS


def admissions(n: int = 3) -> pd.DataFrame:
    """`n` valid spells as text, the way a CSV arrives."""
    days = [f"2024-01-{d + 1:02d}" for d in range(n)]
    return pd.DataFrame(
        {
            "spell_id": [f"S{i}" for i in range(n)],
            "patient_id": [f"P{i}" for i in range(n)],
            "site": "RYJ01",
            "ward": "W1",
            "specialty": "300",
            "admission_datetime": [f"{d} 08:00:00" for d in days],
            "age": "70",
            "sex": "2",
            "ethnic_category": "A",
            "imd_decile": "3",
            "admission_method": "21",
            "admission_source": "19",
            "primary_diagnosis": "J18",
            "frailty_score": "4.5",
            "comorbidity_count": "2",
            "discharge_datetime": [f"{d} 18:00:00" for d in days],
            "discharge_ready_datetime": [f"{d} 12:00:00" for d in days],
            "discharge_destination": "19",
            "discharge_pathway": "0",
        }
    )


def validate(frame: pd.DataFrame, **kwargs: object):  # type: ignore[no-untyped-def]
    return validate_admissions(frame, max_bad_share=1.0, **kwargs)  # type: ignore[arg-type]


def test_valid_frame_is_typed_and_canonical() -> None:
    frame = admissions().assign(extra_note=["a", "b", "c"])
    valid, quarantine, report = validate(frame)
    assert report == ValidationReport(3, 3, 0, {}, None)
    assert quarantine.empty and list(quarantine.columns) == [
        "row",
        "spell_id",
        "column",
        "value",
        "reason",
    ]
    assert list(valid.columns) == [c.name for c in COLUMNS] + ["extra_note"]
    for col in COLUMNS:
        dtype = valid[col.name].dtype
        if col.kind == "str":
            assert pd.api.types.is_string_dtype(dtype), col.name
        elif col.kind == "datetime":
            assert dtype == "datetime64[ns]", col.name
        else:
            assert dtype == "float64", col.name
    assert valid.loc[0, "admission_datetime"] == pd.Timestamp("2024-01-01 08:00")
    assert valid["extra_note"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_required_column_is_named(column: str) -> None:
    with pytest.raises(MissingColumnError, match=column) as info:
        validate(admissions().drop(columns=column))
    assert info.value.columns == [column]


def test_require_labels_needs_discharge_column() -> None:
    frame = admissions().drop(columns="discharge_datetime")
    validate(frame)  # fine without labels
    with pytest.raises(MissingColumnError, match="discharge_datetime"):
        validate(frame, require_labels=True)


def test_missing_optional_columns_are_added_empty() -> None:
    optional = [c.name for c in COLUMNS if not c.required]
    valid, _, report = validate(admissions().drop(columns=optional))
    assert report.rows_valid == 3
    for name in optional:
        assert valid[name].isna().all(), name
    assert valid["imd_decile"].dtype == "float64"
    assert valid["discharge_datetime"].dtype == "datetime64[ns]"


def test_blank_or_missing_ethnicity_is_not_known() -> None:
    frame = admissions()
    frame["ethnic_category"] = ["  ", None, "Z"]
    valid, _, report = validate(frame)
    assert report.rows_valid == 3
    assert valid["ethnic_category"].tolist() == ["99", "99", "Z"]


def test_codes_are_normalised_not_coerced() -> None:
    frame = admissions()
    frame["sex"] = ["1.0", " 2 ", "9"]
    frame["admission_method"] = [21, 22, 11]
    frame["ethnic_category"] = [99.0, np.nan, 99.0]
    frame["spell_id"] = [1.0, 2.0, 3.0]
    valid, _, report = validate(frame)
    assert report.rows_valid == 3
    assert valid["sex"].tolist() == ["1", "2", "9"]
    assert valid["admission_method"].tolist() == ["21", "22", "11"]
    assert valid["ethnic_category"].tolist() == ["99", "99", "99"]
    assert valid["spell_id"].tolist() == ["1", "2", "3"]


BAD_VALUES = [
    ("spell_id", None, "spell_id: required value missing"),
    ("patient_id", "   ", "patient_id: required value missing"),
    ("site", None, "site: required value missing"),
    ("admission_datetime", "2024-13-45", "admission_datetime: unparseable datetime"),
    ("admission_datetime", "02/01/2024", "admission_datetime: unparseable datetime"),
    ("admission_datetime", None, "admission_datetime: required value missing"),
    ("admission_datetime", "0001-01-01", "admission_datetime: datetime out of range"),
    ("age", "seventy", "age: not numeric"),
    ("age", "121", "age: out of range 0-120"),
    ("age", "-1", "age: out of range 0-120"),
    ("age", "42.5", "age: not a whole number"),
    ("age", None, "age: required value missing"),
    ("sex", "M", "sex: not in code list"),
    ("ethnic_category", "W", "ethnic_category: not in code list"),
    ("imd_decile", "11", "imd_decile: out of range 1-10"),
    ("admission_method", "77", "admission_method: not in code list"),
    ("admission_source", "XX", "admission_source: not in code list"),
    ("frailty_score", "inf", "frailty_score: out of range 0-200"),
    ("comorbidity_count", "many", "comorbidity_count: not numeric"),
    ("discharge_datetime", "yesterday", "discharge_datetime: unparseable datetime"),
    ("discharge_datetime", "2024-01-01 07:00", "discharge_datetime: before admission_datetime"),
    (
        "discharge_ready_datetime",
        "2024-01-02 07:00",
        "discharge_ready_datetime: outside admission-discharge",
    ),
    (
        "discharge_ready_datetime",
        "2024-01-02 19:00",
        "discharge_ready_datetime: outside admission-discharge",
    ),
    ("discharge_destination", "7", "discharge_destination: not in code list"),
    ("discharge_pathway", "4", "discharge_pathway: out of range 0-3"),
    ("discharge_pathway", "1.5", "discharge_pathway: not a whole number"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
def test_each_rule_quarantines_the_row_naming_row_and_column(
    column: str, value: str | None, reason: str
) -> None:
    frame = admissions()
    if column == "discharge_datetime" and "before" in reason:
        frame.loc[1, "discharge_ready_datetime"] = None
        value = "2024-01-02 07:00"
    frame[column] = frame[column].astype("object")
    frame.loc[1, column] = value
    valid, quarantine, report = validate(frame)
    assert (report.rows_in, report.rows_valid, report.rows_quarantined) == (3, 2, 1)
    assert report.by_reason == {reason: 1}
    assert valid["spell_id"].tolist() == ["S0", "S2"]
    entry = quarantine.iloc[0]
    assert (entry["row"], entry["column"], entry["reason"]) == (2, column, reason)
    assert entry["value"] == ("" if value is None else str(value))
    if column != "spell_id":
        assert entry["spell_id"] == "S1"


def test_ready_date_without_discharge_only_checked_against_admission() -> None:
    frame = admissions()
    frame["discharge_datetime"] = None
    frame.loc[0, "discharge_ready_datetime"] = "2023-12-31"
    _, quarantine, report = validate(frame)
    assert report.rows_valid == 2
    assert quarantine[["row", "column"]].values.tolist() == [[1, "discharge_ready_datetime"]]


def test_duplicate_spell_keeps_the_first_occurrence() -> None:
    frame = admissions(4)
    frame.loc[3, "spell_id"] = "S1"
    valid, quarantine, report = validate(frame)
    assert valid["spell_id"].tolist() == ["S0", "S1", "S2"]
    assert quarantine[["row", "spell_id", "column", "reason"]].values.tolist() == [
        [4, "S1", "spell_id", "spell_id: duplicate"]
    ]
    assert report.rows_quarantined == 1


def test_row_with_several_problems_counted_once() -> None:
    frame = admissions()
    frame.loc[2, ["age", "sex", "admission_method"]] = ["500", "X", "??"]
    _, quarantine, report = validate(frame)
    assert len(quarantine) == 3 and set(quarantine["row"]) == {3}
    assert set(quarantine["column"]) == {"age", "sex", "admission_method"}
    assert report.rows_quarantined == 1 and report.rows_valid == 2
    assert sum(report.by_reason.values()) == 3


def test_value_is_truncated() -> None:
    frame = admissions()
    frame.loc[0, "sex"] = "x" * 500
    _, quarantine, _ = validate(frame)
    assert quarantine.loc[0, "value"] == "x" * VALUE_MAX_CHARS


def test_too_many_bad_rows_raise_naming_reason_and_row() -> None:
    frame = admissions(10)
    frame.loc[[3, 7], "age"] = "200"
    with pytest.raises(
        DataQualityError, match=r"age: out of range 0-120 \(2 rows, first at row 4\)"
    ):
        validate_admissions(frame, max_bad_share=0.1)
    _, _, report = validate_admissions(frame, max_bad_share=0.2)
    assert report.rows_quarantined == 2


def test_input_not_modified_and_order_kept_with_odd_index() -> None:
    frame = admissions(5).set_index(pd.Index([50, 40, 30, 20, 10]))
    frame.loc[30, "age"] = "x"
    before = frame.copy()
    valid, quarantine, _ = validate(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert valid.index.tolist() == [0, 1, 2, 3]
    assert valid["spell_id"].tolist() == ["S0", "S1", "S3", "S4"]
    assert quarantine["row"].tolist() == [3]


def test_typed_sources_are_accepted() -> None:
    frame = admissions()
    frame["admission_datetime"] = pd.to_datetime(frame["admission_datetime"]).dt.tz_localize(
        "Europe/London"
    )
    frame["discharge_datetime"] = pd.to_datetime(frame["discharge_datetime"])
    frame["age"] = [70, 80, 90]
    frame["frailty_score"] = [1.5, np.nan, 3.0]
    frame["discharge_pathway"] = pd.array([0, None, 3], dtype="Int64")
    valid, _, report = validate(frame)
    assert report.rows_valid == 3
    assert valid["admission_datetime"].dtype == "datetime64[ns]"
    assert valid["age"].tolist() == [70.0, 80.0, 90.0]
    assert valid["discharge_pathway"].isna().tolist() == [False, True, False]


def test_source_rows_name_the_rows() -> None:
    frame = admissions()
    frame.loc[1, "sex"] = "X"
    _, quarantine, _ = validate(frame, source_rows=np.array([10, 20, 30]))
    assert quarantine["row"].tolist() == [20]


def test_empty_frame_and_duplicate_columns() -> None:
    valid, quarantine, report = validate(admissions(0))
    assert (report.rows_in, len(valid), len(quarantine)) == (0, 0, 0)
    doubled = pd.concat([admissions(), admissions()[["age"]]], axis=1)
    with pytest.raises(DataSourceError, match="age"):
        validate(doubled)


def test_summary_and_logs_hold_counts_not_values(caplog: pytest.LogCaptureFixture) -> None:
    frame = admissions()
    frame.loc[0, "sex"] = "SECRET-PATIENT-VALUE"
    with caplog.at_level(logging.DEBUG):
        _, _, report = validate(frame)
    assert "SECRET" not in caplog.text and "validated 3 rows" in caplog.text
    text = ValidationReport(3, 2, 1, report.by_reason, "q.csv").summary()
    assert "quarantined: 1 (33.3%)" in text and "sex: not in code list" in text
    assert "q.csv" in text
