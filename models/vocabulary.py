"""Words for codes and features: how a nurse should read each field of an admission."""

from __future__ import annotations

import math
from typing import Any

SPECIALTIES: dict[str, str] = {
    "100": "general surgery", "101": "urology", "110": "trauma and orthopaedics",
    "120": "ENT", "130": "ophthalmology", "150": "neurosurgery", "160": "plastic surgery",
    "170": "cardiothoracic surgery", "180": "emergency medicine", "192": "critical care",
    "300": "general medicine", "301": "gastroenterology", "302": "endocrinology",
    "303": "haematology", "307": "diabetes", "314": "rehabilitation", "318": "intermediate care",
    "320": "cardiology", "326": "acute medicine", "328": "stroke medicine",
    "329": "transient ischaemic attack", "330": "dermatology", "340": "respiratory medicine",
    "350": "infectious diseases", "361": "nephrology", "370": "medical oncology",
    "400": "neurology", "410": "rheumatology", "420": "paediatrics", "430": "geriatric medicine",
    "500": "obstetrics and gynaecology", "501": "obstetrics", "502": "gynaecology",
    "710": "adult mental illness", "800": "clinical oncology",
}  # fmt: skip
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
}  # fmt: skip
ADMISSION_SOURCES: dict[str, str] = {
    "19": "Admitted from home", "29": "Admitted from temporary accommodation",
    "37": "Admitted from court", "39": "Admitted from a penal establishment",
    "49": "Transferred from another hospital", "51": "Transferred from another hospital ward",
    "52": "Transferred from a maternity ward", "53": "Transferred from a mental health unit",
    "54": "Admitted from a care home", "65": "Admitted from a care home (local authority)",
    "85": "Admitted from a care home (non-NHS)", "87": "Transferred from an independent hospital",
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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _count(n: float, one: str, many: str) -> str:
    n_int = round(n)
    return f"{n_int} {one if n_int == 1 else many}"


def frailty_band(score: float) -> str:
    """Hospital Frailty Risk Score band (Gilbert 2018): low <5, intermediate 5-15, high >15."""
    if score < 5:
        return "low frailty"
    return "intermediate frailty" if score <= 15 else "high frailty"


def describe_field(field: str, row: dict[str, Any]) -> tuple[str, Any]:
    """(plain-language label, value shown) for a source field, from a derived-feature row."""
    v = row.get(field)
    if field == "age":
        return f"Age {int(v)}", int(v)
    if field == "imd_decile":
        if _missing(v):
            return "Deprivation (IMD) of home area not recorded", None
        note = " (most deprived 10% of areas)" if int(v) == 1 else ""
        return f"Lives in IMD decile {int(v)}{note}", int(v)
    if field == "frailty_score":
        if _missing(v):
            return "Frailty score not recorded", None
        return f"Hospital Frailty Risk Score {v:.1f} ({frailty_band(v)})", float(v)
    if field == "comorbidity_count":
        if _missing(v):
            return "Long-term conditions not recorded", None
        return _count(v, "long-term condition", "long-term conditions"), int(v)
    if field == "admission_source":
        code = row.get("admission_source")
        if _missing(code):
            return "Admission source not recorded", None
        return ADMISSION_SOURCES.get(str(code), f"Admission source code {code}"), code
    if field == "admission_method":
        code = row.get("admission_method")
        if _missing(code):
            return "Admission method not recorded", None
        return ADMISSION_METHODS.get(str(code), f"Admission method code {code}"), code
    if field == "admission_datetime":
        day = WEEKDAYS[int(row["admission_weekday"])]
        month = MONTHS[int(row["admission_month"]) - 1]
        hour = int(row["admission_hour"])
        return f"Admitted on a {day} in {month} at {hour:02d}:00", f"{day} {month} {hour:02d}:00"
    if field == "prior_admissions_365d":
        if _missing(v) or v == 0:
            return "No admissions in the last year", 0
        return _count(v, "admission", "admissions") + " in the last year", int(v)
    if field == "prior_emergency_admissions_365d":
        if _missing(v) or v == 0:
            return "No emergency admissions in the last year", 0
        return _count(v, "emergency admission", "emergency admissions") + " in the last year", int(
            v
        )
    if field == "prior_bed_days_365d":
        if _missing(v) or v == 0:
            return "No days in hospital in the last year", 0
        return _count(v, "day", "days") + " in hospital in the last year", round(float(v), 1)
    if field == "days_since_last_discharge":
        if _missing(v):
            return "No hospital discharge in the last year", None
        return f"Last discharged from hospital {_count(v, 'day', 'days')} ago", round(float(v), 1)
    if field == "specialty":
        if _missing(v):
            return "Specialty not recorded", None
        name = SPECIALTIES.get(str(v))
        return (f"Under {name} ({v})" if name else f"Specialty code {v}"), v
    if field == "site":
        return (f"Hospital site {v}" if not _missing(v) else "Hospital site not recorded"), v
    if field == "primary_diagnosis":
        chapter = row.get("diagnosis_chapter")
        if _missing(chapter):
            return "Diagnosis not yet recorded", None
        return f"Diagnosis group: {ICD10_CHAPTERS.get(str(chapter), chapter)}", chapter
    if field == "sex":
        return f"Sex: {SEX.get(str(v), 'not known')}", v
    if _missing(v):
        return f"{field.replace('_', ' ').capitalize()} not recorded", None
    return f"{field.replace('_', ' ').capitalize()}: {v}", v
