"""The API's request models come from `los.schema` and type rows as the file loader does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from features.build import derive_features
from features.history import compute_history
from features.validate import validate_admissions
from los.schema import ADMISSION_COLUMNS, COLUMNS, HISTORY_COLUMNS, LABEL_COLUMNS
from serving.inputs import RequestInputs
from serving.request_rows import rows_to_columns, with_request_history
from serving.schemas import Admission, CensusAdmission, admission_row
from tests.factories import admission

BASE: dict[str, Any] = {
    "spell_id": "S1",
    "patient_id": "P1",
    "site": "RYJ01",
    "admission_datetime": "2024-01-10T10:00:00",
    "age": 80,
    "sex": "2",
    "admission_method": "21",
}


def errors(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as info:
        Admission.model_validate(payload)
    return [e["loc"] for e in info.value.errors()]


def test_fields_follow_the_contract() -> None:
    fields = Admission.model_fields
    assert set(fields) == set(ADMISSION_COLUMNS) | set(HISTORY_COLUMNS)
    assert not set(fields) & set(LABEL_COLUMNS)
    required = {c.name for c in COLUMNS if c.at_admission and c.required and not c.nullable}
    assert {n for n, f in fields.items() if f.is_required()} == required


@pytest.mark.parametrize("column", [c for c in COLUMNS if c.at_admission and c.codes])
def test_every_code_accepted_and_others_rejected(column: Any) -> None:
    for code in column.codes:
        assert getattr(Admission.model_validate({**BASE, column.name: code}), column.name) == code
    assert errors({**BASE, column.name: "QQ"}) == [(column.name,)]


@pytest.mark.parametrize("column", [c for c in COLUMNS if c.at_admission and c.maximum])
def test_ranges_come_from_the_schema(column: Any) -> None:
    assert errors({**BASE, column.name: column.maximum + 1}) == [(column.name,)]
    Admission.model_validate({**BASE, column.name: column.maximum})


def test_unknown_fields_rejected_label_fields_ignored() -> None:
    # the model keeps an unknown field aside; the check against the served champions' inputs
    # (`serving.inputs`, here a champion with no extra inputs) refuses it
    kept = Admission.model_validate({**BASE, "frailty": 2})
    assert kept.model_extra == {"frailty": 2} and "frailty" not in admission_row(kept)
    with pytest.raises(RequestValidationError) as refused:
        RequestInputs((), None).rows([kept], ("body",), indexed=False)
    assert [e["loc"] for e in refused.value.errors()] == [("body", "frailty")]
    labelled = Admission.model_validate({**BASE, "discharge_datetime": "2024-02-01T00:00:00"})
    assert "discharge_datetime" not in admission_row(labelled)
    census = CensusAdmission.model_validate({**BASE, "discharge_datetime": "2024-02-01"})
    assert census.discharge_datetime is not None  # the census keeps it: discharged = left off


def test_codes_sent_as_numbers_and_blank_text() -> None:
    a = Admission.model_validate({**BASE, "sex": 2, "spell_id": 123, "ward": "  "})
    assert (a.sex, a.spell_id, a.ward) == ("2", "123", None)
    assert errors({**BASE, "spell_id": "   "}) == [("spell_id",)]
    assert errors({**BASE, "age": 80.5}) == [("age",)]


def test_offset_times_become_naive_utc_as_in_the_loader() -> None:
    a = Admission.model_validate({**BASE, "admission_datetime": "2024-07-01T10:30:00+01:00"})
    loaded, _, _ = validate_admissions(
        pd.DataFrame([{**BASE, "admission_datetime": "2024-07-01T10:30:00+01:00"}])
    )
    assert pd.Timestamp(a.admission_datetime) == loaded["admission_datetime"].iloc[0]
    assert a.admission_datetime.hour == 9


def test_request_rows_derive_the_same_features_as_loaded_rows() -> None:
    """One feature path: JSON -> request frame and file -> loader frame agree exactly."""
    rows = [
        admission(spell_id="S1"),
        admission(spell_id="S2", imd_decile=np.nan, frailty_score=np.nan, ethnic_category=None,
                  admission_source=None, specialty=None, primary_diagnosis=None, ward=None),
    ]  # fmt: skip
    source = pd.DataFrame(rows).drop(columns=list(LABEL_COLUMNS)).astype(str)
    source = source.replace({"nan": "", "None": "", "NaT": ""})
    loaded, _, _ = validate_admissions(source)
    payloads = [
        {k: (None if pd.isna(v) else v.isoformat() if isinstance(v, pd.Timestamp) else v)
         for k, v in r.items() if k in ADMISSION_COLUMNS}
        for r in rows
    ]  # fmt: skip
    request = [admission_row(Admission.model_validate(p)) for p in payloads]
    served = pd.DataFrame(with_request_history(rows_to_columns(request), request, None))
    pd.testing.assert_frame_equal(
        derive_features(served), derive_features(loaded.drop(columns=list(LABEL_COLUMNS)))
    )


def test_missing_history_means_no_earlier_spells() -> None:
    request = [admission_row(Admission.model_validate(BASE))]
    columns = rows_to_columns(request)
    served = pd.DataFrame(with_request_history(columns, request, None))
    empty = pd.DataFrame(columns=["patient_id", "admission_datetime", "discharge_datetime"])
    expected = compute_history(pd.DataFrame(columns), empty)
    pd.testing.assert_frame_equal(served[list(HISTORY_COLUMNS)], expected, check_dtype=False)


def test_supplied_history_is_kept_per_row() -> None:
    given = {**BASE, "prior_admissions_365d": 3, "prior_bed_days_365d": 12.5}
    request = [admission_row(Admission.model_validate(p)) for p in (given, BASE)]
    served = pd.DataFrame(with_request_history(rows_to_columns(request), request, None))
    assert served["prior_admissions_365d"].tolist() == [3.0, 0.0]
    assert served["prior_bed_days_365d"].tolist() == [12.5, 0.0]
    # a row with history but this count blank: NaN, as training reads a blank cell
    # (tests/hostile/test_history_parity.py); the row without history has none: 0
    assert np.isnan(served["prior_emergency_admissions_365d"][0])
    assert served["prior_emergency_admissions_365d"][1] == 0.0
    assert served["days_since_last_discharge"].isna().all()
