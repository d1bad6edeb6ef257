"""The admissions table contract (CONTRACT §1): one definition for loader, features and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "int", "float", "datetime"]

# The ethnic category code for "not known" (CONTRACT §1, §4); a missing value is read as it.
ETHNICITY_NOT_KNOWN = "99"
# The NHS ethnic categories (NHS Data Dictionary "Ethnic Category"), each with its name as
# reports, reasons and lists show it: the one table of them.
ETHNIC_CATEGORY_LABELS: dict[str, str] = {
    "A": "White: British", "B": "White: Irish", "C": "White: any other White background",
    "D": "Mixed: White and Black Caribbean", "E": "Mixed: White and Black African",
    "F": "Mixed: White and Asian", "G": "Mixed: any other mixed background",
    "H": "Asian or Asian British: Indian", "J": "Asian or Asian British: Pakistani",
    "K": "Asian or Asian British: Bangladeshi", "L": "Asian or Asian British: any other Asian",
    "M": "Black or Black British: Caribbean", "N": "Black or Black British: African",
    "P": "Black or Black British: any other Black", "R": "Other: Chinese",
    "S": "Other: any other ethnic group", "Z": "Not stated", ETHNICITY_NOT_KNOWN: "Not known",
}  # fmt: skip
ETHNIC_CODES: tuple[str, ...] = tuple(ETHNIC_CATEGORY_LABELS)
# fmt: off
SEX_CODES: tuple[str, ...] = ("0", "1", "2", "9")
ADMISSION_METHOD_CODES: tuple[str, ...] = (
    "11", "12", "13",                                                 # elective
    "21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D",       # emergency
    "31", "32",                                                       # maternity
    "81", "82", "83",                                                 # other
    "98", "99",                                                       # not applicable / known
)
ADMISSION_SOURCE_CODES: tuple[str, ...] = (
    "19", "29", "30", "37", "38", "39", "40", "41", "42", "48", "49", "50", "51", "52", "53",
    "54", "65", "66", "79", "85", "87", "88", "98", "99",
)
DISCHARGE_DESTINATION_CODES: tuple[str, ...] = (
    "19", "29", "30", "37", "38", "48", "49", "50", "51", "52", "53", "54", "65", "66", "79",
    "84", "85", "87", "88", "98", "99",
)
# fmt: on
CARE_HOME_CODES: tuple[str, ...] = ("54", "65", "85")
OTHER_HOSPITAL_CODES: tuple[str, ...] = ("49", "50", "51", "52", "53", "87")
DIED_DESTINATION = "79"


@dataclass(frozen=True)
class Column:
    """One column of the admissions table.

    `max_length` bounds every text column (characters, after trimming), on every path: the
    loader quarantines longer values and the API's request models take the same limit.
    """

    name: str
    kind: Kind
    required: bool
    nullable: bool
    at_admission: bool
    label: bool = False
    codes: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        # A code column's limit is its longest code: every text column has one, set here once.
        if self.kind == "str" and self.max_length is None and self.codes:
            object.__setattr__(self, "max_length", max(len(c) for c in self.codes))


COLUMNS: tuple[Column, ...] = (
    Column("spell_id", "str", True, False, True, max_length=100, description="Unique spell key"),
    Column(
        "patient_id",
        "str",
        True,
        False,
        True,
        max_length=100,
        description="Pseudonymised patient key",
    ),
    Column("site", "str", True, False, True, max_length=50, description="Provider site code"),
    Column("ward", "str", False, True, True, max_length=100, description="Current ward"),
    Column(
        "specialty", "str", False, True, True, max_length=20, description="Treatment function code"
    ),
    Column("admission_datetime", "datetime", True, False, True, description="Admission time"),
    Column("age", "int", True, False, True, minimum=0, maximum=120, description="Age in years"),
    Column("sex", "str", True, False, True, codes=SEX_CODES, description="NHS sex code"),
    Column(
        "ethnic_category",
        "str",
        False,
        True,
        True,
        codes=ETHNIC_CODES,
        description="NHS ethnic category A-S, Z not stated, 99 not known (missing = not known)",
    ),
    Column(
        "imd_decile",
        "int",
        False,
        True,
        True,
        minimum=1,
        maximum=10,
        description="IMD decile of residence, 1 = most deprived",
    ),
    Column(
        "admission_method",
        "str",
        True,
        False,
        True,
        codes=ADMISSION_METHOD_CODES,
        description="ADMIMETH code",
    ),
    Column(
        "admission_source",
        "str",
        False,
        True,
        True,
        codes=ADMISSION_SOURCE_CODES,
        description="ADMISORC code",
    ),
    Column(
        "primary_diagnosis",
        "str",
        False,
        True,
        True,
        max_length=20,
        description="ICD-10 code at admission",
    ),
    Column(
        "frailty_score",
        "float",
        False,
        True,
        True,
        minimum=0,
        maximum=200,
        description="Hospital Frailty Risk Score",
    ),
    Column(
        "comorbidity_count",
        "int",
        False,
        True,
        True,
        minimum=0,
        maximum=50,
        description="Count of long-term conditions",
    ),
    Column("discharge_datetime", "datetime", False, True, False, label=True),
    Column("discharge_ready_datetime", "datetime", False, True, False, label=True),
    Column(
        "discharge_destination",
        "str",
        False,
        True,
        False,
        label=True,
        codes=DISCHARGE_DESTINATION_CODES,
    ),
    Column("discharge_pathway", "int", False, True, False, label=True, minimum=0, maximum=3),
)

COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
# File types a table is read from and written to (the CLI checks them before loading anything).
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
TABLE_SUFFIXES: tuple[str, ...] = CSV_SUFFIXES + PARQUET_SUFFIXES
# File types the risk list and the bed forecast are written to (`models.printable`).
LIST_SUFFIXES: tuple[str, ...] = (".csv", ".html", ".htm", ".json")

# Text that means "no value" on every path (CSV, Parquet, SQL, mapping): read as missing, so the
# same row gets the same verdict whatever the source format.
NA_VALUES: tuple[str, ...] = ("", "NULL", "null", "NA", "N/A", "NaN", "nan", "None")

REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
LABEL_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.label)
ADMISSION_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.at_admission)

# History features derived from earlier spells of the same patient (CONTRACT §1): three counts
# (admissions, emergency admissions, bed days) and the days since the last discharge.
HISTORY_COUNT_COLUMNS: tuple[str, ...] = (
    "prior_admissions_365d",
    "prior_emergency_admissions_365d",
    "prior_bed_days_365d",
)
DAYS_SINCE_LAST_DISCHARGE = "days_since_last_discharge"
HISTORY_COLUMNS: tuple[str, ...] = (*HISTORY_COUNT_COLUMNS, DAYS_SINCE_LAST_DISCHARGE)
