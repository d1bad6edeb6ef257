"""Plain-language reasons: every field reads well (including missing values and history), and
contributions of derived columns are grouped back to their source field."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.build import FEATURE_SOURCES, FeatureSpec, derive_features
from los.config import FeaturesConfig
from models.reasons import MIN_CONTRIBUTION, build_reasons, reasons_text
from models.vocabulary import describe_field, feature_label, field_label, level_label
from tests.factories import admission, frame

SPEC = FeatureSpec.from_config(FeaturesConfig(include_ethnicity=True))
FIELDS = sorted(set(FEATURE_SOURCES.values()))
BAD = re.compile(r"\bnan\b|\bNone\b|<NA>|NaT|_|\s{2}|\(\s*\)", re.IGNORECASE)


def _rows(*admissions: dict[str, object]) -> list[dict[str, object]]:
    derived = derive_features(frame(*admissions), SPEC)
    return derived.to_dict("records")  # type: ignore[return-value]


def _history_spells() -> list[dict[str, object]]:
    """Patient P9: three emergency spells in the last year, then the admission being described."""
    index = pd.Timestamp("2024-06-01 14:00")
    earlier = [
        admission(
            spell_id=f"H{i}",
            patient_id="P9",
            admission_method="21",
            admission_datetime=index - pd.Timedelta(days=d + 4),
            discharge_datetime=index - pd.Timedelta(days=d),
        )
        for i, d in enumerate((12, 60, 200))
    ]
    current = admission(
        spell_id="NOW",
        patient_id="P9",
        admission_datetime=index,
        discharge_datetime=index + pd.Timedelta(days=5),
    )
    return [*earlier, current]


MISSING = admission(
    spell_id="M1",
    patient_id="PM",
    imd_decile=np.nan,
    frailty_score=np.nan,
    comorbidity_count=np.nan,
    admission_source=None,
    specialty=None,
    primary_diagnosis=None,
    ethnic_category=None,
    site=None,
    sex="0",
)


def _assert_reads_well(text: str) -> None:
    assert text and (text[0].isupper() or text[0].isdigit()), text
    assert not BAD.search(text), text


def test_every_field_reads_well_typical_missing_and_with_history() -> None:
    rows = _rows(admission(), MISSING, *_history_spells())
    assert set(FIELDS) <= {SPEC.source_of(c) for c in SPEC.columns}  # every field is described
    for row in rows:
        for field in FIELDS:
            text, _ = describe_field(field, row)
            _assert_reads_well(text)


@pytest.mark.parametrize(
    ("field", "typical", "missing"),
    [
        ("age", "Age 80", None),
        ("imd_decile", "Lives in an area of IMD decile 3 of 10 (1 = most deprived)",
         "Deprivation of home area (IMD) not recorded"),
        ("frailty_score", "Hospital Frailty Risk Score 7.5 (intermediate frailty)",
         "Frailty score not recorded"),
        ("comorbidity_count", "3 long-term conditions", "Long-term conditions not recorded"),
        ("admission_source", "Admitted from home", "Admission source not recorded"),
        ("admission_method", "Emergency admission via A&E", None),
        ("admission_datetime", "Admitted on a Wednesday morning (10:00) in January", None),
        ("specialty", "Admitted under General Internal Medicine", "Specialty not recorded"),
        ("site", "Hospital site RYJ01", "Hospital site not recorded"),
        ("primary_diagnosis", "Diagnosis at admission: respiratory conditions",
         "No diagnosis recorded at admission"),
        ("sex", "Sex: female", "Sex not known"),
        ("ethnic_category", "Ethnicity: White: British", "Ethnicity not recorded"),
        ("prior_admissions_365d", "No hospital admissions in the last year", None),
        ("prior_emergency_admissions_365d", "No emergency admissions in the last year", None),
        ("prior_bed_days_365d", "No days in hospital in the last year", None),
        ("days_since_last_discharge", "No hospital discharge in the last year", None),
    ],
)  # fmt: skip
def test_known_wording(field: str, typical: str, missing: str | None) -> None:
    typical_row, missing_row = _rows(admission(), MISSING)
    assert describe_field(field, typical_row)[0] == typical
    if missing is not None:
        text, value = describe_field(field, missing_row)
        assert text == missing
        assert value is None or field == "sex"


def test_history_reasons_count_prior_spells() -> None:
    row = _rows(*_history_spells())[-1]
    assert describe_field("prior_emergency_admissions_365d", row) == (
        "3 emergency admissions in the last year",
        3.0,
    )
    assert describe_field("prior_admissions_365d", row)[0] == (
        "3 hospital admissions in the last year"
    )
    assert describe_field("prior_bed_days_365d", row)[0] == "12 days in hospital in the last year"
    assert describe_field("days_since_last_discharge", row)[0] == (
        "Last discharged from hospital 12 days ago"
    )


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("age", 87, "Age 87"),
        ("age", 0, "Under 1 year old"),
        ("age", np.nan, "Age not recorded"),
        ("imd_decile", 1, "Lives in the 10% most deprived areas (IMD decile 1)"),
        ("imd_decile", 10, "Lives in the 10% least deprived areas (IMD decile 10)"),
        ("frailty_score", 21.0, "Hospital Frailty Risk Score 21.0 (high frailty)"),
        ("comorbidity_count", 0, "No long-term conditions recorded"),
        ("comorbidity_count", 1, "1 long-term condition"),
        ("admission_source", "54", "Admitted from a care home"),
        ("admission_source", "51", "Transferred from another hospital ward"),
        ("admission_source", "77", "Admitted from source code 77"),
        ("prior_emergency_admissions_365d", 1, "1 emergency admission in the last year"),
        ("prior_emergency_admissions_365d", np.nan,
         "Emergency admissions in the last year not known"),
        ("prior_bed_days_365d", 0.4, "Less than a day in hospital in the last year"),
        ("days_since_last_discharge", 1, "Last discharged from hospital 1 day ago"),
        ("days_since_last_discharge", 0.2, "Discharged from hospital less than a day before"),
        ("specialty", "999", "Admitted under specialty code 999"),
        ("sex", "1", "Sex: male"),
        ("extra_lab_result", 3.14159, "Extra lab result: 3.14"),
        ("extra_lab_result", np.nan, "Extra lab result not recorded"),
    ],
)  # fmt: skip
def test_edge_values(field: str, value: object, text: str) -> None:
    row = {field: value}
    assert describe_field(field, row)[0] == text
    _assert_reads_well(text)


def test_missing_admission_time_parts() -> None:
    row = {"admission_weekday": np.nan, "admission_month": 1.0, "admission_hour": 3.0}
    assert describe_field("admission_datetime", row)[0] == "Admission time not recorded"
    row = {"admission_weekday": 5.0, "admission_month": 3.0, "admission_hour": 2.0}
    assert describe_field("admission_datetime", row)[0] == (
        "Admitted on a Saturday night (02:00) in March"
    )


def _contributions(**by_column: float) -> np.ndarray:
    columns = list(SPEC.columns)
    out = np.zeros((1, len(columns) + 1))
    for name, value in by_column.items():
        out[0, columns.index(name)] = value
    out[0, -1] = -1.5  # expected value: never a reason
    return out


def test_reasons_group_derived_columns_by_source_field() -> None:
    features = derive_features(frame(admission(age=87, admission_source="54")), SPEC)
    contrib = _contributions(
        from_care_home=0.5,
        admission_source=0.3,
        age=-0.4,
        admission_hour=0.1,
        admission_weekday=0.1,
        admission_month=-0.05,
        site=MIN_CONTRIBUTION / 4,
    )
    (reasons,) = build_reasons(contrib, features, list(SPEC.columns), SPEC.source_of, top_k=5)
    assert [r.field for r in reasons] == ["admission_source", "age", "admission_datetime"]
    assert [r.text for r in reasons] == [
        "Admitted from a care home (raises risk)",
        "Age 87 (lowers risk)",
        "Admitted on a Wednesday morning (10:00) in January (raises risk)",
    ]
    assert reasons[0].contribution == pytest.approx(0.8)
    assert reasons[2].contribution == pytest.approx(0.15)
    assert reasons_text(reasons).startswith("Admitted from a care home (raises risk); Age 87")
    assert set(reasons[0].to_dict()) == {"feature", "field", "value", "contribution", "text"}


def test_reasons_are_scaled_and_limited_to_top_k() -> None:
    features = derive_features(frame(admission(frailty_score=np.nan)), SPEC)
    contrib = _contributions(frailty_score=0.3, age=0.2, comorbidity_count=-0.1)
    (reasons,) = build_reasons(
        contrib, features, list(SPEC.columns), SPEC.source_of, scale=0.5, top_k=2
    )
    assert [r.text for r in reasons] == [
        "Frailty score not recorded (raises risk)",
        "Age 80 (raises risk)",
    ]
    assert reasons[0].contribution == pytest.approx(0.15)
    assert reasons[0].to_dict()["value"] is None


def test_chart_labels() -> None:
    assert (
        feature_label("prior_emergency_admissions_365d") == "Emergency admissions in the last year"
    )
    assert field_label("admission_datetime") == "Time of admission"
    assert field_label("some_extra") == "Some extra"
    assert level_label("specialty", "430") == "Elderly Medicine (430)"
    assert level_label("diagnosis_chapter", "J") == "J: respiratory conditions"
    assert level_label("site", "RYJ01") == "RYJ01"
