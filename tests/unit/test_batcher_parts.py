"""The parts of the scoring path behind `/v1/score`: request rows -> columns with history
(`serving.request_rows`, `models.history_index`), the warm-up row (`serving.warmup`), the
response bodies (`serving.responses`) and the scoring thread (`serving.worker`)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from features.history import compute_history
from los.errors import NotReadyError
from los.schema import ETHNICITY_NOT_KNOWN, HISTORY_COLUMNS
from models.history_index import HistoryIndex, history_for
from models.inputs import ExtraInput
from models.reasons import Reason
from models.registry import ModelIdentity
from models.scorer import TargetScores
from serving.request_rows import rows_to_columns, with_request_history
from serving.responses import result_rows
from serving.schemas import Admission, ScoreOut, admission_row
from serving.warmup import warmup_row
from serving.worker import ScoringWorker
from tests.factories import admission, frame

T = pd.Timestamp
BASE: dict[str, Any] = {
    "spell_id": "S1",
    "patient_id": "P1",
    "site": "RYJ01",
    "admission_datetime": "2024-01-10T10:00:00",
    "age": 80,
    "sex": "2",
    "admission_method": "21",
}


def request_rows(*payloads: dict[str, Any]) -> list[dict[str, Any]]:
    return [admission_row(Admission.model_validate(BASE | p)) for p in payloads]


# Request rows -> columns


def test_rows_become_typed_columns_and_a_missing_ethnicity_is_not_known() -> None:
    rows = request_rows({"ethnic_category": "A"}, {"spell_id": "S2", "ethnic_category": None})
    columns = rows_to_columns(rows)
    assert columns["admission_datetime"].dtype == np.dtype("datetime64[ns]")
    assert columns["age"].dtype == np.float64
    assert columns["ethnic_category"].tolist() == ["A", ETHNICITY_NOT_KNOWN]
    assert not any(name in columns for name in HISTORY_COLUMNS)  # none was sent


def test_an_extra_input_is_a_column_only_when_every_row_has_it() -> None:
    score = ExtraInput("news2_score", "number", ("los-nctr",))
    rows = [{**r, "news2_score": v} for r, v in zip(request_rows({}, {}), (4, None), strict=True)]
    got = rows_to_columns(rows, [score])["news2_score"]
    assert got[0] == 4.0 and np.isnan(got[1])
    assert "news2_score" not in rows_to_columns([rows[0], request_rows({})[0]], [score])


# History: given, looked up, or none


def earlier_spells() -> pd.DataFrame:
    return frame(
        admission(
            spell_id="E1",
            patient_id="P1",
            admission_datetime=T("2023-12-01"),
            discharge_datetime=T("2023-12-05"),
            admission_method="21",
        ),
        admission(
            spell_id="E2",
            patient_id="P9",
            admission_datetime=T("2023-11-01"),
            discharge_datetime=T("2023-11-02"),
        ),
        admission(spell_id="OPEN", patient_id="P1", discharge_datetime=pd.NaT),
    )


def test_the_index_holds_ended_spells_by_patient() -> None:
    index = HistoryIndex(earlier_spells())
    assert len(index) == 2
    assert index.spells_for(["P1", "P1", "nobody"])["patient_id"].tolist() == ["P1"]
    assert index.spells_for(["nobody"]).empty


def test_history_is_looked_up_as_training_computes_it() -> None:
    rows = request_rows({}, {"spell_id": "S2", "patient_id": "P9"}, {"patient_id": "P5"})
    columns = rows_to_columns(rows)
    got = with_request_history(columns, rows, HistoryIndex(earlier_spells()))
    expected = compute_history(pd.DataFrame(columns), earlier_spells())
    for name in HISTORY_COLUMNS:
        np.testing.assert_array_equal(got[name], expected[name].to_numpy())
    assert got["prior_admissions_365d"].tolist() == [1.0, 1.0, 0.0]


def test_without_a_source_a_row_has_no_history() -> None:
    columns = rows_to_columns(request_rows({}))
    got = history_for(columns, None)
    assert [got[c][0] for c in HISTORY_COLUMNS[:3]] == [0.0, 0.0, 0.0]
    assert np.isnan(got["days_since_last_discharge"][0])


def test_history_given_in_a_row_is_kept_and_the_others_are_looked_up() -> None:
    rows = request_rows({"prior_admissions_365d": 7}, {"spell_id": "S2"})
    got = with_request_history(rows_to_columns(rows), rows, HistoryIndex(earlier_spells()))
    assert got["prior_admissions_365d"].tolist() == [7.0, 1.0]
    assert np.isnan(got["prior_bed_days_365d"][0])  # sent history, left this out: not known
    assert got["prior_bed_days_365d"][1] == pytest.approx(4.0)


# The warm-up row


def test_the_warmup_row_is_a_valid_admission_with_extras_not_known() -> None:
    extra = ExtraInput("news2_score", "number", ("los-nctr",))
    row = warmup_row([extra])
    assert row["news2_score"] is None
    Admission.model_validate({k: v for k, v in row.items() if k != "news2_score"})
    columns = rows_to_columns([row], [extra])
    assert np.isnan(columns["news2_score"]).all()


# Response bodies, checked against `ScoreOut` as the route sends them


REASON_VALUES = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(-1000, 1000),
    st.floats(allow_infinity=False),  # NaN included: a value not known
)
REASONS = st.builds(
    Reason,
    field=st.sampled_from(["age", "admission_method", "prior_bed_days_365d"]),
    feature=st.text(min_size=1, max_size=30),
    value=REASON_VALUES,
    contribution=st.floats(-10, 10),
    text=st.text(max_size=60),
)


@st.composite
def scored(draw: st.DrawFn) -> tuple[list[str], dict[str, TargetScores], dict[str, str]]:
    n = draw(st.integers(1, 6))
    targets = draw(
        st.lists(st.sampled_from(["long_stay", "long_stay_21", "nctr"]), unique=True, max_size=3)
    )
    scores = {}
    for target in targets:
        with_reasons = draw(st.booleans())
        scores[target] = TargetScores(
            target=target,
            probability=np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))),
            flagged=np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
            band=np.array(
                draw(st.lists(st.sampled_from(["low", "medium", "high"]), min_size=n, max_size=n)),
                dtype=object,
            ),
            threshold=draw(st.floats(0, 1)),
            reasons=(
                draw(st.lists(st.lists(REASONS, max_size=3), min_size=n, max_size=n))
                if with_reasons
                else None
            ),
            identity=ModelIdentity(
                f"los-{target}",
                str(draw(st.integers(1, 99))),
                draw(st.sampled_from([None, "champion"])),
            ),
        )
    missing = {t: f"{t} model awaiting review" for t in ("long_stay", "nctr") if t not in scores}
    ids = [f"S{i}" for i in range(n)]
    return ids, scores, missing


@settings(max_examples=60, deadline=None)
@given(scored())
def test_every_body_is_a_valid_score_out_as_sent(
    case: tuple[list[str], dict[str, TargetScores], dict[str, str]],
) -> None:
    from fastapi.responses import JSONResponse

    ids, scores, missing = case
    bodies = result_rows(ids, scores, missing)
    sent = JSONResponse(bodies).body  # the bytes the batch route sends
    validated = TypeAdapter(list[ScoreOut]).validate_json(sent)
    # nothing extra, nothing missing: the model's own dump is the JSON that was sent
    assert [v.model_dump(mode="json") for v in validated] == json.loads(sent)
    assert [v.spell_id for v in validated] == ids
    for i, body in enumerate(validated):
        assert body.unavailable == missing
        for target, s in scores.items():
            out = body.scores[target]
            assert out.probability == pytest.approx(float(s.probability[i]), abs=5e-7)
            assert out.flagged is bool(s.flagged[i])
            reasons = s.reasons[i] if s.reasons else []
            assert [r.feature for r in out.reasons] == [r.feature for r in reasons]
            for r, given_reason in zip(out.reasons, reasons, strict=True):
                v = given_reason.value
                if isinstance(v, float) and math.isnan(v):
                    assert r.value is None
        one = ScoreOut.model_validate_json(JSONResponse(bodies[0]).body)  # /v1/score
        assert one == validated[0]


# The scoring thread


def test_the_worker_answers_not_ready_without_models_and_keeps_running() -> None:
    """Models retired between a request's check and its turn: 503, and the thread lives on (it
    once died here, setting a running future running again, and every later request hung)."""
    worker = ScoringWorker(current=lambda: None, history=lambda: None, on_scored=lambda *a: None)
    worker.start()
    try:
        for _ in range(2):
            with pytest.raises(NotReadyError):
                worker.submit_rows(request_rows({})).result(timeout=10)
            with pytest.raises(NotReadyError):
                worker.submit_call(lambda models: None).result(timeout=10)
    finally:
        worker.stop()
