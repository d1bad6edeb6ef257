"""Request and response models of the HTTP service; admission fields generated from `los.schema`.

`Admission` is built by `pydantic.create_model` from `los.schema.COLUMNS` (the "at admission"
columns) plus the optional history fields, so the API can never drift from the table contract.

Choices (documented in docs/service.md):
- unknown fields are rejected (422 naming the field): a misspelt optional field would otherwise
  be scored as missing without anyone noticing;
- label fields (`discharge_datetime`, ...) are accepted and ignored, as `los score` ignores them,
  so a row of a labelled extract can be posted as it is;
- codes must be in the contract's code lists; numbers sent as JSON numbers are accepted for code
  fields (`"sex": 2` is read as `"2"`); datetimes are ISO 8601, with an offset converted to UTC
  and then made naive, exactly as the file loader does.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)

from los.schema import COLUMNS, HISTORY_COLUMNS, LABEL_COLUMNS, Column

# History fields are not columns of the admissions table but may be supplied by a caller.
HISTORY_FIELDS: dict[str, tuple[type, str]] = {
    "prior_admissions_365d": (int, "Admissions that ended in the 365 days before this one"),
    "prior_emergency_admissions_365d": (int, "Emergency admissions among those"),
    "prior_bed_days_365d": (float, "Days in hospital in those admissions"),
    "days_since_last_discharge": (float, "Days since the last discharge (empty: none in a year)"),
}
assert tuple(HISTORY_FIELDS) == HISTORY_COLUMNS  # one list of history columns

_PYTHON_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "datetime": datetime}


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


def _naive_utc(value: datetime | None) -> datetime | None:
    """An offset-aware time becomes naive UTC, as `features.validate` does for files."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _field(column: Column) -> tuple[Any, Any]:
    kind = _PYTHON_TYPES[column.kind]
    validators: list[Any] = []
    extra: dict[str, Any] = {}
    if column.kind == "str":
        validators.append(AfterValidator(_text))
        if column.required and not column.nullable:
            validators.append(AfterValidator(_present))
        if column.codes is not None:
            validators.append(AfterValidator(_in_codes(column)))
            extra["json_schema_extra"] = {"enum": list(column.codes)}
    if column.kind == "datetime":
        validators.append(AfterValidator(_naive_utc))
    constraints = {}
    if column.minimum is not None:
        constraints["ge"] = column.minimum
    if column.maximum is not None:
        constraints["le"] = column.maximum
    annotated = Annotated[kind, Field(**constraints), *validators]  # type: ignore[valid-type]
    description = column.description or column.name
    if column.required and not column.nullable:
        return annotated, Field(..., description=description, **extra)
    return annotated | None, Field(None, description=description, **extra)  # type: ignore[operator]


class _AdmissionBase(BaseModel):
    """Shared configuration: unknown fields rejected, label fields dropped before validation."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _ignore_labels(cls, data: Any) -> Any:
        if isinstance(data, dict):
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
        fields[name] = (Annotated[kind, Field(ge=0)] | None, Field(None, description=description))
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
        Annotated[datetime | None, AfterValidator(_naive_utc)],
        Field(None, description="Discharge time; empty while the patient is in hospital"),
    ),
)


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


class RiskListRequest(BaseModel):
    """The census of current inpatients and the list options (as `los risk-list`)."""

    model_config = ConfigDict(extra="forbid")

    admissions: list[CensusAdmission]  # type: ignore[valid-type]
    date: dt.date | None = Field(None, description="list date; default: latest admission's date")
    site: str | None = Field(None, description="only this site")
    capacity: int | None = Field(None, ge=0, description="patients the team can review today")


class ModelInfoOut(BaseModel):
    """A loaded model version and what it was trained on."""

    target: str
    name: str
    version: str
    alias: str | None
    run_id: str | None
    description: str | None
    data_window: dict[str, Any]
    threshold: float
    high_band_cut: float
    training_metrics: dict[str, Any]
    rows: dict[str, Any]


class ModelsOut(BaseModel):
    """`GET /v1/models`."""

    loaded_at: str
    models: list[ModelInfoOut]


def admission_row(admission: BaseModel) -> dict[str, Any]:
    """The typed row the scorer reads; history fields only when the caller gave them."""
    row = dict(admission.__dict__)
    if not admission.has_history():  # type: ignore[attr-defined]
        for name in HISTORY_COLUMNS:
            row.pop(name, None)
    return row
