"""Words for codes, features and fields: how a nurse should read each part of an admission."""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from los.schema import ETHNIC_CATEGORY_LABELS

TREATMENT_FUNCTIONS_CSV = Path(__file__).parent / "data" / "treatment_functions.csv"


@functools.cache
def treatment_functions() -> dict[str, str]:
    """NHS Data Dictionary treatment function code -> its name, read once (`models/data/`)."""
    with TREATMENT_FUNCTIONS_CSV.open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {row["code"]: row["name"] for row in rows}


class _SpecialtyNames(Mapping[str, str]):
    """Treatment function code -> name for display: the Dictionary's name less " Service"."""

    def __getitem__(self, code: str) -> str:
        return treatment_functions()[code].removesuffix(" Service")

    def __iter__(self) -> Iterator[str]:
        return iter(treatment_functions())

    def __len__(self) -> int:
        return len(treatment_functions())


SPECIALTIES: Mapping[str, str] = _SpecialtyNames()
ADMISSION_METHODS: dict[str, str] = {
    "11": "Planned admission from the waiting list", "12": "Planned admission (booked)",
    "13": "Planned admission (scheduled)", "21": "Emergency admission via A&E",
    "22": "Emergency admission via the GP", "23": "Emergency admission via a bed bureau",
    "24": "Emergency admission via a consultant clinic",
    "25": "Emergency admission via a mental health crisis team",
    "28": "Emergency admission (other route)",
    "2A": "Emergency admission via another provider's A&E",
    "2B": "Emergency transfer from another hospital",
    "2C": "Emergency admission (baby born at home)",
    "2D": "Emergency admission (other)", "31": "Maternity admission (before delivery)",
    "32": "Maternity admission (after delivery)", "81": "Transfer from another hospital",
    "82": "Admission (baby born in this hospital)", "83": "Admission (baby born outside hospital)",
    "98": "Admission method not applicable", "99": "Admission method not known",
}  # fmt: skip
ADMISSION_SOURCES: dict[str, str] = {
    "19": "Admitted from home", "29": "Admitted from temporary accommodation",
    "30": "Transferred from a high-security psychiatric hospital", "37": "Admitted from court",
    "38": "Admitted via the police", "39": "Admitted from prison, court or police",
    "40": "Admitted from prison", "41": "Admitted from prison via the police",
    "42": "Admitted from a police station", "48": "Transferred from a secure hospital (Scotland)",
    "49": "Transferred from a high-security psychiatric hospital",
    "50": "Transferred from a medium-secure unit", "51": "Transferred from another hospital ward",
    "52": "Transferred from a maternity or neonatal ward",
    "53": "Transferred from a mental health ward", "54": "Admitted from a care home",
    "65": "Admitted from a care home (local authority)", "66": "Admitted from foster care",
    "79": "Born in or on the way to hospital", "85": "Admitted from a care home (independent)",
    "86": "Admitted from a nursing home (independent)",
    "87": "Transferred from an independent hospital", "88": "Admitted from a hospice",
    "98": "Admission source not applicable", "99": "Admission source not known",
}  # fmt: skip
SEX: dict[str, str] = {"1": "male", "2": "female", "9": "indeterminate", "0": "not known"}
ICD10_CHAPTERS: dict[str, str] = {
    "A": "infections", "B": "infections", "C": "cancer", "D": "blood disorders or tumours",
    "E": "endocrine or metabolic conditions", "F": "mental and behavioural conditions",
    "G": "nervous system conditions", "H": "eye or ear conditions", "I": "circulatory conditions",
    "J": "respiratory conditions", "K": "digestive conditions", "L": "skin conditions",
    "M": "musculoskeletal conditions", "N": "kidney or urinary conditions",
    "O": "pregnancy", "P": "newborn conditions", "Q": "congenital conditions",
    "R": "symptoms not yet diagnosed", "S": "injury", "T": "injury or poisoning",
    "U": "special codes (e.g. COVID-19)", "V": "external causes", "W": "external causes",
    "X": "external causes", "Y": "external causes", "Z": "health-service contact",
}  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# Readable names of model columns (for charts) and of admissions-table fields (for summaries).
FEATURE_LABELS: dict[str, str] = {
    "age": "Age", "imd_decile": "IMD decile (1 = most deprived)",
    "frailty_score": "Hospital Frailty Risk Score", "comorbidity_count": "Long-term conditions",
    "from_care_home": "Admitted from a care home", "admission_hour": "Hour of admission",
    "admission_weekday": "Day of the week of admission", "admission_month": "Month of admission",
    "prior_admissions_365d": "Admissions in the last year",
    "prior_emergency_admissions_365d": "Emergency admissions in the last year",
    "prior_bed_days_365d": "Days in hospital in the last year",
    "days_since_last_discharge": "Days since last discharge", "sex": "Sex",
    "admission_group": "Type of admission", "admission_method": "Admission method",
    "admission_source": "Admitted from", "specialty": "Specialty", "site": "Hospital site",
    "diagnosis_chapter": "Diagnosis group (ICD-10 chapter)", "ethnic_category": "Ethnicity",
}  # fmt: skip
# Units (or scale) of numeric model columns whose name does not already say them: a chart's axis
# reads "Age (years)". Columns counted in days say so in their names.
FEATURE_UNITS: dict[str, str] = {
    "age": "years", "frailty_score": "points", "comorbidity_count": "count",
    "from_care_home": "1 = yes, 0 = no", "admission_hour": "hour of the day, 0-23",
    "admission_weekday": "0 = Monday, 6 = Sunday", "admission_month": "1 = January",
    "prior_admissions_365d": "count", "prior_emergency_admissions_365d": "count",
}  # fmt: skip
FIELD_LABELS: dict[str, str] = {
    **FEATURE_LABELS, "admission_datetime": "Time of admission",
    "admission_source": "Where admitted from", "primary_diagnosis": "Diagnosis at admission",
}  # fmt: skip


def _words(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def feature_label(column: str) -> str:
    """A model column in words, for charts."""
    return FEATURE_LABELS.get(column, _words(column))


def feature_axis_label(column: str) -> str:
    """A numeric model column in words with its unit, for a chart axis: "Age (years)"."""
    unit = FEATURE_UNITS.get(column)
    return f"{feature_label(column)} ({unit})" if unit else feature_label(column)


def field_label(field: str) -> str:
    """An admissions-table field in words, for summaries."""
    return FIELD_LABELS.get(field, _words(field))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float | np.floating) and math.isnan(value))
    except TypeError:
        return False


def _count(n: float, one: str, many: str) -> str:
    n_int = round(n)
    return f"{n_int} {one if n_int == 1 else many}"


def frailty_band(score: float) -> str:
    """Hospital Frailty Risk Score band (Gilbert 2018): low <5, intermediate 5-15, high >15."""
    if score < 5:
        return "low frailty"
    return "intermediate frailty" if score <= 15 else "high frailty"


def _deprivation(decile: int) -> str:
    if decile <= 2:
        return f"Lives in the {decile * 10}% most deprived areas (IMD decile {decile})"
    if decile >= 9:
        return f"Lives in the {(11 - decile) * 10}% least deprived areas (IMD decile {decile})"
    return f"Lives in an area of IMD decile {decile} of 10 (1 = most deprived)"


def _part_of_day(hour: int) -> str:
    if hour < 6:
        return "night"
    if hour < 12:
        return "morning"
    return "afternoon" if hour < 18 else "evening"


def _admission_time(row: dict[str, Any]) -> tuple[str, Any]:
    parts: list[Any] = [
        row.get(c) for c in ("admission_weekday", "admission_month", "admission_hour")
    ]
    if any(_missing(v) for v in parts):
        return "Admission time not recorded", None
    day, month = WEEKDAYS[int(parts[0])], MONTHS[int(parts[1]) - 1]
    hour = int(parts[2])
    return (
        f"Admitted on a {day} {_part_of_day(hour)} ({hour:02d}:00) in {month}",
        f"{day} {month} {hour:02d}:00",
    )


def _history(field: str, v: Any) -> tuple[str, Any]:
    """Prior use of hospital in the last 365 days (missing = not supplied, so not known)."""
    what = {
        "prior_admissions_365d": ("hospital admission", "hospital admissions"),
        "prior_emergency_admissions_365d": ("emergency admission", "emergency admissions"),
        "prior_bed_days_365d": ("day in hospital", "days in hospital"),
    }[field]
    if _missing(v):
        return f"{what[1].capitalize()} in the last year not known", None
    if round(float(v)) == 0:
        if field == "prior_bed_days_365d" and float(v) > 0:
            return "Less than a day in hospital in the last year", round(float(v), 1)
        return f"No {what[1]} in the last year", 0
    return f"{_count(float(v), *what)} in the last year", round(float(v), 1)


def _code_text(v: Any, names: dict[str, str], missing: str, unknown: str) -> tuple[str, Any]:
    if _missing(v):
        return missing, None
    return names.get(str(v), f"{unknown} {v}"), v


def describe_field(field: str, row: dict[str, Any]) -> tuple[str, Any]:
    """(plain-language label, value shown) for a source field, from a derived-feature row.

    Every field reads as a short phrase a nurse would say, including when its value is missing.
    """
    v: Any = row.get(field)
    if field == "age":
        if _missing(v):
            return "Age not recorded", None
        return (f"Age {int(v)}" if v >= 1 else "Under 1 year old"), int(v)
    if field == "imd_decile":
        if _missing(v):
            return "Deprivation of home area (IMD) not recorded", None
        return _deprivation(int(v)), int(v)
    if field == "frailty_score":
        if _missing(v):
            return "Frailty score not recorded", None
        return f"Hospital Frailty Risk Score {v:.1f} ({frailty_band(v)})", round(float(v), 1)
    if field == "comorbidity_count":
        if _missing(v):
            return "Long-term conditions not recorded", None
        if round(float(v)) == 0:
            return "No long-term conditions recorded", 0
        return _count(v, "long-term condition", "long-term conditions"), round(float(v))
    if field == "admission_source":
        return _code_text(
            v, ADMISSION_SOURCES, "Admission source not recorded", "Admitted from source code"
        )
    if field == "admission_method":
        return _code_text(
            v, ADMISSION_METHODS, "Admission method not recorded", "Admission method code"
        )
    if field == "admission_datetime":
        return _admission_time(row)
    if field in ("prior_admissions_365d", "prior_emergency_admissions_365d", "prior_bed_days_365d"):
        return _history(field, v)
    if field == "days_since_last_discharge":
        if _missing(v):
            return "No hospital discharge in the last year", None
        if float(v) < 1:
            return "Discharged from hospital less than a day before", round(float(v), 1)
        return f"Last discharged from hospital {_count(v, 'day', 'days')} ago", round(float(v), 1)
    if field == "specialty":
        if _missing(v):
            return "Specialty not recorded", None
        name = SPECIALTIES.get(str(v))
        return (f"Admitted under {name}" if name else f"Admitted under specialty code {v}"), v
    if field == "site":
        return ("Hospital site not recorded", None) if _missing(v) else (f"Hospital site {v}", v)
    if field == "primary_diagnosis":
        chapter = row.get("diagnosis_chapter", v)
        if _missing(chapter):
            return "No diagnosis recorded at admission", None
        name = ICD10_CHAPTERS.get(str(chapter), f"ICD-10 chapter {chapter}")
        return f"Diagnosis at admission: {name}", chapter
    if field == "sex":
        if _missing(v) or str(v) == "0":
            return "Sex not known", None if _missing(v) else v
        return f"Sex: {SEX.get(str(v), f'code {v}')}", v
    if field == "ethnic_category":
        if _missing(v):
            return "Ethnicity not recorded", None
        return f"Ethnicity: {ETHNIC_CATEGORY_LABELS.get(str(v), f'code {v}')}", v
    if _missing(v):
        return f"{field_label(field)} not recorded", None
    shown = round(float(v), 2) if isinstance(v, float | np.floating) else v
    return f"{field_label(field)}: {shown}", shown


def level_label(column: str, level: str) -> str:
    """A category level of a model column in words, for charts (e.g. specialty `430`)."""
    names: dict[str, Mapping[str, str]] = {
        "sex": SEX,
        "specialty": SPECIALTIES,
        "admission_method": ADMISSION_METHODS,
        "admission_source": ADMISSION_SOURCES,
        "ethnic_category": ETHNIC_CATEGORY_LABELS,
    }
    if column == "diagnosis_chapter":
        return f"{level}: {ICD10_CHAPTERS.get(level, level)}"
    name = names.get(column, {}).get(level)
    return f"{name} ({level})" if name else level
