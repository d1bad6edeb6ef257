"""Request and response models of the HTTP service; admission fields generated from `los.schema`.

`Admission` is built by `pydantic.create_model` from `los.schema.COLUMNS` (the "at admission"
columns) plus the optional history fields, so the API can never drift from the table contract.

Choices (documented in docs/service.md):
- unknown fields are rejected (422 naming the field): a misspelt optional field would otherwise
  be scored as missing without anyone noticing. The check runs after this model's, against the
  served champions' own inputs (`serving.inputs`): a field a champion was trained with beyond
  the contract (`features.extra_*`) is required and typed by `extra_inputs_model`, anything else
  is refused. The admission models therefore keep unknown fields aside (`extra="allow"`) for
  that check, while their OpenAPI schema still says `additionalProperties: false`;
- label fields (`discharge_datetime`, ...) are accepted and ignored, as `los score` ignores them,
  so a row of a labelled extract can be posted as it is;
- codes must be in the contract's code lists; numbers sent as JSON numbers are accepted for code
  fields (`"sex": 2` is read as `"2"`); datetimes are ISO 8601, with an offset converted to UTC
  and then made naive, exactly as the file loader does.

The OpenAPI schema says exactly what is accepted, so a schema-driven client (or the fuzzer in
tests/reliability/test_fuzz.py) is never refused a request the schema allows: a required text
field must hold a non-blank character (`pattern`, the same characters `str.strip` removes), a
nullable code field lists `null` among its codes, and a risk-list census has at least one row.
Validation messages name the rule, never the value sent (422 bodies carry no patient data).
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
    model_validator,
)
from pydantic.config import JsonDict

from los.schema import COLUMNS, HISTORY_COLUMNS, LABEL_COLUMNS, Column
from models.inputs import ExtraInput

# History fields are not columns of the admissions table but may be supplied by a caller.
HISTORY_FIELDS: dict[str, tuple[type, str]] = {
    "prior_admissions_365d": (int, "Admissions that ended in the 365 days before this one"),
    "prior_emergency_admissions_365d": (int, "Emergency admissions among those"),
    "prior_bed_days_365d": (float, "Days in hospital in those admissions"),
    "days_since_last_discharge": (float, "Days since the last discharge (empty: none in a year)"),
}
assert tuple(HISTORY_FIELDS) == HISTORY_COLUMNS  # one list of history columns

_PYTHON_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "datetime": datetime}

# The characters `str.strip()` removes (`str.isspace`), as a JSON Schema / ECMA-262 class: a
# required text field must contain one character outside it. Listed, not `\s`, because the two
# regex dialects disagree on `\s` (Python strips U+001C-U+001F and U+0085; ECMA's `\s` has U+FEFF).
WHITESPACE_CLASS = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NON_BLANK_PATTERN = f"[^{WHITESPACE_CLASS}]"

# Admission, discharge and list dates: years 1900-2199 as written. Outside that a date cannot be a
# real admission, and nanosecond timestamps (1677-2262, the file loader's bounds) would wrap it.
FIRST_YEAR, LAST_YEAR = 1900, 2199
YEARS = f"{FIRST_YEAR}-{LAST_YEAR}"
DATE_PATTERN = "^(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}"
_DATE_START = re.compile(DATE_PATTERN)
_DATE_SCHEMA: JsonDict = {"pattern": DATE_PATTERN}


def _in_codes(column: Column) -> Any:
    codes = column.codes or ()

    def check(value: str | None) -> str | None:
        if value is not None and value not in codes:
            raise ValueError(f"not in the code list for {column.name}: {', '.join(codes)}")
        return value

    return check


def _text(value: str | None) -> str | None:
    """Strip codes and keys; blank means missing (as the file loader reads it)."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _present(value: str | None) -> str:
    if value is None:
        raise ValueError("required value missing (blank)")
    return value


def _json_number(value: Any) -> Any:
    """Numbers must be JSON numbers: `true` or `"7"` is refused, not silently read as 1 or 7."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


def _iso_text(value: Any) -> Any:
    """Dates and times are ISO 8601 text in the years 1900-2199 (as written, before any offset).

    A bare number (or numeric text) is refused, not read as Unix time; a year outside the range
    is refused rather than wrapped around by nanosecond timestamps further down the pipeline.
    """
    if value is None or isinstance(value, dt.date):
        if isinstance(value, dt.date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"year must be {FIRST_YEAR}-{LAST_YEAR}")
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date or date-time string")
    if not _DATE_START.match(value):
        raise ValueError(f"must be an ISO 8601 date or date-time (YYYY-MM-DD...), year {YEARS}")
    return value


NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(_json_number)]
NonNegativeFloat = Annotated[float, Field(ge=0), BeforeValidator(_json_number)]


def _naive_utc(value: datetime | None) -> datetime | None:
    """An offset-aware time becomes naive UTC, as `features.validate` does for files."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 with an offset; cannot pass `_iso_text`, kept safe
        raise ValueError("date-time out of range") from None


def _field(column: Column) -> tuple[Any, Any]:
    kind = _PYTHON_TYPES[column.kind]
    validators: list[Any] = []
    extra: dict[str, Any] = {}
    schema_extra: dict[str, Any] = {}
    if column.kind == "str":
        validators.append(AfterValidator(_text))
        if column.required and not column.nullable:
            validators.append(AfterValidator(_present))
            if column.codes is None:
                schema_extra.update(minLength=1, pattern=NON_BLANK_PATTERN)
        if column.codes is not None:
            validators.append(AfterValidator(_in_codes(column)))
            nullable = [None] if column.nullable or not column.required else []
            schema_extra["enum"] = [*column.codes, *nullable]
    if column.kind in ("int", "float"):
        validators.append(BeforeValidator(_json_number))
    if column.kind == "datetime":
        validators += [BeforeValidator(_iso_text), AfterValidator(_naive_utc)]
        schema_extra.update(_DATE_SCHEMA)
    if schema_extra:
        extra["json_schema_extra"] = schema_extra
    constraints = {}
    if column.minimum is not None:
        constraints["ge"] = column.minimum
    if column.maximum is not None:
        constraints["le"] = column.maximum
    if column.max_length is not None and column.codes is None:  # a code list bounds the rest
        constraints["max_length"] = column.max_length
    annotated = Annotated[kind, Field(**constraints), *validators]  # type: ignore[valid-type]
    description = column.description or column.name
    if column.required and not column.nullable:
        return annotated, Field(..., description=description, **extra)
    return annotated | None, Field(None, description=description, **extra)  # type: ignore[operator]


class _AdmissionBase(BaseModel):
    """Shared configuration: label fields dropped before validation; other unknown fields kept
    aside in `model_extra` for `serving.inputs` to type (a champion's extra inputs) or refuse."""

    model_config = ConfigDict(
        extra="allow",
        coerce_numbers_to_str=True,
        frozen=True,
        allow_inf_nan=False,
        json_schema_extra={"additionalProperties": False},
    )

    @model_validator(mode="before")
    @classmethod
    def _ignore_labels(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in LABEL_COLUMNS):  # else as it is
            return {
                k: v for k, v in data.items() if k not in LABEL_COLUMNS or k in cls.model_fields
            }
        return data

    def has_history(self) -> bool:
        """True when the caller supplied any history field (then none is looked up)."""
        return any(name in self.model_fields_set for name in HISTORY_COLUMNS)


def _admission_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {c.name: _field(c) for c in COLUMNS if c.at_admission}
    for name, (kind, description) in HISTORY_FIELDS.items():
        number = NonNegativeInt if kind is int else NonNegativeFloat
        fields[name] = (number | None, Field(None, description=description))
    return fields


Admission = create_model(  # type: ignore[call-overload]
    "Admission",
    __base__=_AdmissionBase,
    __doc__="One admission: the 'at admission' fields of CONTRACT §1 and optional history.",
    **_admission_fields(),
)

CensusAdmission = create_model(  # type: ignore[call-overload]
    "CensusAdmission",
    __base__=Admission,
    __doc__="A row of the inpatient census; a row with a discharge time is left off the list.",
    discharge_datetime=(
        Annotated[datetime | None, BeforeValidator(_iso_text), AfterValidator(_naive_utc)],
        Field(
            None,
            description="Discharge time; empty while the patient is in hospital",
            json_schema_extra=_DATE_SCHEMA,
        ),
    ),
)


# An extra text input (a category) may be as long as the longest text column the schema allows.
EXTRA_TEXT_MAX_LENGTH = max(c.max_length for c in COLUMNS if c.max_length is not None)


def extra_inputs_model(extras: tuple[ExtraInput, ...]) -> type[BaseModel]:
    """The fields a set of champions reads beyond the contract: each required (absent is a 422
    naming it), `null` when not known; numbers as JSON numbers, text as JSON text up to the
    schema's limit. Any other field is refused (`extra="forbid"`)."""
    fields: dict[str, Any] = {}
    for extra in extras:
        description = (
            f"Extra input of the served model(s) {', '.join(extra.models)}; null: not known"
        )
        if extra.kind == "number":
            kind: Any = Annotated[float | None, BeforeValidator(_json_number)]
            fields[extra.name] = (kind, Field(..., description=description))
        else:
            # strict: text as JSON text (a code sent as a number is refused, as the schema says)
            text = Annotated[
                str, Field(strict=True, max_length=EXTRA_TEXT_MAX_LENGTH), AfterValidator(_text)
            ]
            fields[extra.name] = (text | None, Field(..., description=description))
    config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, allow_inf_nan=False)
    return create_model("ExtraInputs", __config__=config, **fields)  # type: ignore[call-overload, no-any-return]


class ReasonOut(BaseModel):
    """One driver of a score, in plain words."""

    feature: str
    field: str
    value: str | float | int | None
    contribution: float = Field(description="effect in calibrated log-odds (SHAP, summed)")
    text: str


class ModelOut(BaseModel):
    """The registered model version that produced a score."""

    name: str
    version: str
    alias: str | None


class TargetScoreOut(BaseModel):
    """One target's score for one admission."""

    probability: float
    risk_band: str
    flagged: bool
    threshold: float
    reasons: list[ReasonOut]
    model: ModelOut


class ScoreOut(BaseModel):
    """Scores of one admission, per target (`long_stay`, `long_stay_21`, `nctr`, ...)."""

    spell_id: str
    scores: dict[str, TargetScoreOut]
    unavailable: dict[str, str] = Field(
        default_factory=dict,
        description="targets without a champion, not scored, and why, e.g. "
        '{"nctr": "NCTR model awaiting review: no champion (...)"}',
    )
    # CONTRACT §7: present when a stay distribution model is served (`models.stay_scores`)
    los_p10_days: float | None = Field(None, description="10th centile of the stay, days")
    los_median_days: float | None = Field(None, description="median stay from admission, days")
    los_p90_days: float | None = Field(None, description="90th centile of the stay, days")
    expected_discharge_date: dt.date | None = Field(
        None, description="admission date plus the median stay"
    )
    nctr_expected_days: float | None = Field(
        None, description="expected days with no criteria to reside (blank: no NCTR model)"
    )


# The list date's rule (`models.census.date_after_data`), as `los risk-list --date` states it.
LIST_DATE_DESCRIPTION = (
    "list date; default: the latest admission date in the posted admissions on or before today "
    "(UTC). A date after that date (so any date after today) is refused, 422 naming `date`: the "
    "census cannot say who is in hospital then. An earlier date is listed, and the patients "
    "admitted after it are left off and counted in `notes`"
)
ALLOW_AFTER_DATA_DESCRIPTION = (
    "true: accept a `date` after the latest admission date (as `--allow-future-date`)"
)


class RiskListRequest(BaseModel):
    """The census of current inpatients and the list options (as `los risk-list`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    admissions: list[CensusAdmission] = Field(  # type: ignore[valid-type]
        ..., min_length=1, description="the census: one row per current inpatient (at least one)"
    )
    date: Annotated[dt.date | None, BeforeValidator(_iso_text)] = Field(
        None,
        description=LIST_DATE_DESCRIPTION,
        json_schema_extra=_DATE_SCHEMA,
    )
    allow_after_data: StrictBool = Field(False, description=ALLOW_AFTER_DATA_DESCRIPTION)
    site: str | None = Field(None, description="only this site")
    capacity: NonNegativeInt | None = Field(None, description="patients the team can review today")


ForecastAdmission = create_model(  # type: ignore[call-overload]
    "ForecastAdmission",
    __base__=CensusAdmission,
    __doc__="A spell for the bed forecast: a current inpatient, or an ended spell the baseline "
    "stay curves learn from (rows with a discharge time are not forecast).",
    discharge_ready_datetime=(
        Annotated[datetime | None, BeforeValidator(_iso_text), AfterValidator(_naive_utc)],
        Field(
            None,
            description="Discharge Ready Date, when recorded: the patient no longer meets the "
            "criteria to reside",
            json_schema_extra=_DATE_SCHEMA,
        ),
    ),
)


class ForecastRequest(BaseModel):
    """The spells and the forecast options (as `los forecast`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    admissions: list[ForecastAdmission] = Field(  # type: ignore[valid-type]
        ...,
        min_length=1,
        description="current inpatients (no discharge time) and, for the baseline stay curves, "
        "ended spells",
    )
    date: Annotated[dt.date | None, BeforeValidator(_iso_text)] = Field(
        None,
        description=LIST_DATE_DESCRIPTION,
        json_schema_extra=_DATE_SCHEMA,
    )
    allow_after_data: StrictBool = Field(False, description=ALLOW_AFTER_DATA_DESCRIPTION)
    days: int = Field(7, ge=1, le=60, description="days ahead")
    at_least: list[NonNegativeInt] = Field(
        default_factory=list, max_length=20, description="also give P(at least N beds)"
    )
    site: str | None = Field(None, description="only this site")


class DecisionOut(BaseModel):
    """A person's recorded decision on a version (`los promote`; CONTRACT §6)."""

    model: str
    version: str
    kind: str = Field(description="promote or reject")
    by: str
    reason: str
    at: str = Field(description="when, UTC, ISO 8601")
    accepted: list[str] = Field(description="the failed gates and findings accepted")


class UnavailableOut(BaseModel):
    """A target without a champion: why, and its newest version's decision, if any."""

    name: str
    reason: str
    latest_version: str | None
    decision: DecisionOut | None


class ModelInfoOut(BaseModel):
    """A loaded model version and what it was trained on."""

    target: str
    name: str
    version: str
    alias: str | None
    run_id: str | None
    description: str | None
    data_window: dict[str, Any]
    kind: str = Field(description="`long_stay`, `nctr` (flags) or `stay_distribution`")
    threshold: float | None = Field(description="the flag threshold (None: the stay model)")
    high_band_cut: float | None = Field(description="the high band's cut (None: the stay model)")
    distribution: dict[str, Any] | None = Field(
        None,
        description="the stay distribution model's horizon (days), reported interval, its "
        "coverage and median error on the test period, concordance and NCTR wait model; None "
        "for a flag",
    )
    test_metrics: dict[str, Any] = Field(
        description="metrics on the test period (held out from training, after calibration)"
    )
    training_metrics: dict[str, Any] = Field(
        description="the same figures as `test_metrics` (test period), under the name CONTRACT "
        "§5 gives them; kept for existing clients"
    )
    rows: dict[str, Any]
    decision: DecisionOut | None = Field(
        None, description="the decision recorded on this version (None: promoted by its gates)"
    )


class LoadErrorOut(BaseModel):
    """A `champion` version the service refused to load; it keeps serving the one it had."""

    version: str
    error: str
    at: str


class ModelsOut(BaseModel):
    """`GET /v1/models`."""

    loaded_at: str
    models: list[ModelInfoOut]
    load_errors: dict[str, LoadErrorOut] = Field(
        default_factory=dict,
        description="per registered model, a newer champion version that failed to load",
    )
    unavailable: dict[str, UnavailableOut] = Field(
        default_factory=dict, description="per target without a champion, why"
    )


def admission_row(admission: BaseModel) -> dict[str, Any]:
    """The typed row the scorer reads; history fields only when the caller gave them."""
    row = dict(admission.__dict__)
    if not admission.has_history():  # type: ignore[attr-defined]
        for name in HISTORY_COLUMNS:
            row.pop(name, None)
    return row
