"""Train/serve parity for history a caller supplies with a blank count.

Training reads a table that carries the history columns as given: a blank count is NaN to the
model (`features.build.derive_columns`), not 0. The service once filled a blank count of a row
that carried history with 0, so the same admission got different features from the API than
from the table the model was trained on. The API must build exactly what training builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureSpec, derive_columns, derive_features
from features.load import load_admissions
from los.schema import ADMISSION_COLUMNS, HISTORY_COLUMNS, HISTORY_COUNT_COLUMNS
from serving.request_rows import rows_to_columns, with_request_history
from serving.schemas import Admission, admission_row
from tests.factories import admission

GIVEN = {
    "prior_admissions_365d": 2,
    "prior_emergency_admissions_365d": 1,
    "prior_bed_days_365d": 9.5,
    "days_since_last_discharge": 40.0,
}


def both_paths(history: list[dict[str, Any]], tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features of the same admissions through training (a CSV with the history columns, the
    loader, `derive_features`) and through the API (JSON rows, the request models, the
    service's columns, `derive_columns` as the scorer calls it)."""
    rows = [
        admission(spell_id=f"S{i}", patient_id=f"P{i}", **{c: h.get(c) for c in HISTORY_COLUMNS})
        for i, h in enumerate(history)
    ]
    path = tmp_path / "admissions.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    loaded = load_admissions(str(path)).frame
    spec = FeatureSpec()
    trained = derive_features(loaded, spec)

    payloads = []
    for row, h in zip(rows, history, strict=True):
        body = {k: row[k] for k in ADMISSION_COLUMNS}
        body["admission_datetime"] = row["admission_datetime"].isoformat()
        payloads.append(body | h)  # only the history fields the caller sent
    request = [admission_row(Admission.model_validate(p)) for p in payloads]
    columns = with_request_history(rows_to_columns(request), request, None)
    served = pd.DataFrame(derive_columns(columns, spec))
    return trained, served


@pytest.mark.parametrize("blank", HISTORY_COUNT_COLUMNS)
@pytest.mark.parametrize("how", ["null", "absent"])
def test_a_blank_count_is_what_training_builds(blank: str, how: str, tmp_path: Path) -> None:
    sent = {k: v for k, v in GIVEN.items() if k != blank}
    if how == "null":
        sent[blank] = None
    trained, served = both_paths([GIVEN, sent], tmp_path)
    assert np.isnan(trained.loc[1, blank])  # training: a blank count is not known
    pd.testing.assert_frame_equal(served, trained)


def test_history_sent_all_blank_is_what_training_builds(tmp_path: Path) -> None:
    trained, served = both_paths([GIVEN, dict.fromkeys(HISTORY_COLUMNS)], tmp_path)
    assert trained.loc[1, list(HISTORY_COLUMNS)].isna().all()
    pd.testing.assert_frame_equal(served, trained)
